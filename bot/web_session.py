"""Who is signed in: a signed, time-limited cookie (itsdangerous) with the person id and a
CSRF token. In demo mode a person is picked from the demo organisation; production sign-in
through Entra ID is a later issue (sign-in, access, record, retention)."""
from __future__ import annotations

import secrets

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "beredskab_session"
MAX_AGE = 12 * 3600
SETTINGS_KEY = web.AppKey("session_serializer", URLSafeTimedSerializer)


def serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="ssp-beredskab-session")


def read(request: web.Request) -> dict:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = request.app[SETTINGS_KEY].loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def write(request: web.Request, response: web.StreamResponse, data: dict) -> None:
    secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
    response.set_cookie(COOKIE, request.app[SETTINGS_KEY].dumps(data), max_age=MAX_AGE,
                        httponly=True, samesite="Lax", secure=secure, path="/")


def sign_in(request: web.Request, response: web.StreamResponse, person_id: str) -> None:
    write(request, response, {"person": person_id, "csrf": secrets.token_urlsafe(16)})


def sign_out(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")


def person_id(request: web.Request) -> str | None:
    return read(request).get("person")


def csrf_token(request: web.Request) -> str:
    return read(request).get("csrf", "")
