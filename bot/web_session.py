"""Who is signed in: a signed, time-limited cookie (itsdangerous) with the person id and a
CSRF token. People sign in with Microsoft (Entra ID, ``sign_in_pages.py``) or, in demo mode,
pick a person from the demo organisation.

A session ends after ``IDLE_TIMEOUT`` without a request, and at the latest ``MAX_AGE`` after
signing in: the cookie's signature carries the time it was last issued (re-issued on use, see
``refresh``), the payload the time of signing in. The cookie is HttpOnly, SameSite=Lax, and
Secure when the service is reached over https.
"""
from __future__ import annotations

import secrets
import time

from aiohttp import hdrs, web
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from .keys import SERVICES

COOKIE = "beredskab_session"
MAX_AGE = 12 * 3600  # sign in again at the latest this long after signing in
IDLE_TIMEOUT = 2 * 3600  # ... or after this long without a request
REFRESH_AFTER = 300  # re-issue the cookie on use when it is older than this
SETTINGS_KEY = web.AppKey("session_serializer", URLSafeTimedSerializer)


def clock() -> float:
    """Now, in epoch seconds (tests replace it)."""
    return time.time()


class _Signer(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(clock())


def serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="ssp-beredskab-session", signer=_Signer)


def is_secure(request: web.Request) -> bool:
    """Whether the browser reaches us over https (directly, behind a proxy, or by configuration)."""
    if request.secure or request.headers.get("X-Forwarded-Proto") == "https":
        return True
    services = request.app.get(SERVICES)
    return services is not None and services.settings.public_url.startswith("https://")


def _load(request: web.Request) -> tuple[dict, float] | None:
    """The session and when its cookie was issued; None if there is none, or it is forged,
    idle too long or too old."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data, issued = request.app[SETTINGS_KEY].loads(raw, max_age=IDLE_TIMEOUT,
                                                       return_timestamp=True)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("since"), int):
        return None
    if clock() - data["since"] > MAX_AGE:
        return None
    return data, issued.timestamp()


def read(request: web.Request) -> dict:
    loaded = _load(request)
    return loaded[0] if loaded else {}


def write(request: web.Request, response: web.StreamResponse, data: dict) -> None:
    remaining = max(1, int(data.get("since", clock()) + MAX_AGE - clock()))
    response.set_cookie(COOKIE, request.app[SETTINGS_KEY].dumps(data), max_age=remaining,
                        httponly=True, samesite="Lax", secure=is_secure(request), path="/")


def sign_in(request: web.Request, response: web.StreamResponse, person_id: str) -> None:
    write(request, response, {"person": person_id, "csrf": secrets.token_urlsafe(16),
                              "since": int(clock())})


def sign_out(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")


async def refresh(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: keep a session in use alive (re-issue its cookie now and then,
    within ``MAX_AGE``) and clear a cookie that no longer holds. A response that signs in or
    out itself is left alone."""
    if COOKIE in response.cookies or not request.cookies.get(COOKIE):
        return
    loaded = _load(request)
    if loaded is None:
        sign_out(response)
    elif clock() - loaded[1] >= REFRESH_AFTER:
        write(request, response, loaded[0])
    else:
        return
    # aiohttp has already turned the response's cookies into headers: add this one by hand.
    response.headers.add(hdrs.SET_COOKIE, response.cookies[COOKIE].output(header="")[1:])


def person_id(request: web.Request) -> str | None:
    return read(request).get("person")


def csrf_token(request: web.Request) -> str:
    return read(request).get("csrf", "")
