"""Who is signed in: a signed, time-limited cookie (itsdangerous) with a random session key and a
CSRF token, and the session itself in the database (``handleplaner.directory.sessions``). People
sign in with Microsoft (Entra ID, ``sign_in_pages.py``) or, in demo mode, pick a person from the
demo organisation.

Every request's session is checked in the database (the ``resolve`` middleware), so logging out,
or an administrator's "log this person out everywhere" (``beredskab sessions revoke``), ends the
session on every replica at once: the old cookie signs no one in any more.

A session also ends after ``IDLE_TIMEOUT`` without a request, and at the latest ``MAX_AGE`` after
signing in: the cookie's signature carries the time it was last issued (re-issued on use, see
``refresh``), the payload the time of signing in. The cookie is HttpOnly, SameSite=Lax, and
Secure when the service is reached over https.

Before signing in, the sign-in page gives the browser a cookie with a CSRF token and no session
(``login_csrf_token``): the sign-in form carries the token like every other form, so a sign-in
posted from another site is refused.
"""
from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from aiohttp import hdrs, web
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from handleplaner.directory import sessions

from .keys import SERVICES

COOKIE = "beredskab_session"
MAX_AGE = 12 * 3600  # sign in again at the latest this long after signing in
IDLE_TIMEOUT = 2 * 3600  # ... or after this long without a request
REFRESH_AFTER = 300  # re-issue the cookie on use when it is older than this
SETTINGS_KEY = web.AppKey("session_serializer", URLSafeTimedSerializer)


def clock() -> float:
    """Now, in epoch seconds (tests replace it)."""
    return time.time()


def now() -> datetime:
    return datetime.fromtimestamp(clock(), timezone.utc)


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


@dataclass
class _State:
    """This request's session: the cookie's data (with ``person`` when signed in), when the
    cookie was issued, whether a cookie was sent that no longer holds, and whether the request
    made a new cookie (the sign-in page's CSRF token) that the response must carry."""
    data: dict = field(default_factory=dict)
    issued: float | None = None
    dead: bool = False
    fresh: bool = False


STATE_KEY = web.RequestKey("beredskab_session_state", _State)


def _load(request: web.Request) -> tuple[dict, float] | None:
    """The cookie's data and when it was issued; None if there is none, or it is forged, idle
    too long or too old."""
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
    if not isinstance(data.get("csrf"), str) or not data["csrf"]:
        return None
    if clock() - data["since"] > MAX_AGE:
        return None
    return data, issued.timestamp()


async def _resolve(request: web.Request) -> _State:
    loaded = _load(request)
    if loaded is None:
        return _State(dead=bool(request.cookies.get(COOKIE)))
    data, issued = loaded
    key = data.get("key")
    if key is None:
        if "person" in data:  # a cookie from before sessions were kept in the database
            return _State(dead=True)
        return _State(data={"csrf": data["csrf"], "since": data["since"]}, issued=issued)
    if not isinstance(key, str):
        return _State(dead=True)
    person = await asyncio.to_thread(sessions.holder, request.app[SERVICES].engine, key=key,
                                     now=now())
    if person is None:  # logged out, revoked or expired: on this replica or another
        return _State(dead=True)
    return _State(data={"key": key, "csrf": data["csrf"], "since": data["since"],
                        "person": person}, issued=issued)


@web.middleware
async def resolve(request: web.Request, handler):
    """Check the request's session in the database once, before anything asks who is calling."""
    request[STATE_KEY] = await _resolve(request)
    return await handler(request)


def _state(request: web.Request) -> _State:
    state = request.get(STATE_KEY)
    return state if state is not None else _State()


def read(request: web.Request) -> dict:
    return _state(request).data


def write(request: web.Request, response: web.StreamResponse, data: dict) -> None:
    remaining = max(1, int(data.get("since", clock()) + MAX_AGE - clock()))
    kept = {name: data[name] for name in ("key", "csrf", "since") if name in data}
    response.set_cookie(COOKIE, request.app[SETTINGS_KEY].dumps(kept), max_age=remaining,
                        httponly=True, samesite="Lax", secure=is_secure(request), path="/")


def forget(response: web.StreamResponse) -> None:
    """Clear the browser's cookie (the session in the database is left as it is)."""
    response.del_cookie(COOKIE, path="/")


async def sign_in(request: web.Request, response: web.StreamResponse, person_id: str) -> None:
    """Start a new session for the person (ending the one this browser had, if any)."""
    engine = request.app[SERVICES].engine
    old = read(request).get("key")
    if old:
        await asyncio.to_thread(sessions.end, engine, key=old, now=now(),
                                ended_by=sessions.ENDED_BY_NEW_SIGN_IN)
    key = secrets.token_urlsafe(32)
    await asyncio.to_thread(sessions.start, engine, key=key, person_id=person_id, now=now(),
                            lifetime=timedelta(seconds=MAX_AGE))
    write(request, response, {"key": key, "csrf": secrets.token_urlsafe(16),
                              "since": int(clock())})


async def sign_out(request: web.Request, response: web.StreamResponse) -> None:
    """End this browser's session in the database (for every replica) and clear its cookie."""
    key = read(request).get("key")
    if key:
        await asyncio.to_thread(sessions.end, request.app[SERVICES].engine, key=key, now=now())
    forget(response)


def login_csrf_token(request: web.Request) -> str:
    """The CSRF token for the sign-in form: the session's, or a new one the response sets in a
    cookie without a session."""
    state = _state(request)
    if not state.data.get("csrf"):
        state.data = {"csrf": secrets.token_urlsafe(16), "since": int(clock())}
        state.fresh, state.dead = True, False
        request[STATE_KEY] = state
    return state.data["csrf"]


async def refresh(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: keep a session in use alive (re-issue its cookie now and then,
    within ``MAX_AGE``), clear a cookie that no longer holds, and set the sign-in page's new
    CSRF cookie. A response that signs in or out itself is left alone."""
    if COOKIE in response.cookies:
        return
    state = _state(request)
    if state.fresh:
        write(request, response, state.data)
    elif not request.cookies.get(COOKIE):
        return
    elif state.dead:
        forget(response)
    elif state.issued is not None and clock() - state.issued >= REFRESH_AFTER:
        write(request, response, state.data)
    else:
        return
    # aiohttp has already turned the response's cookies into headers: add this one by hand.
    response.headers.add(hdrs.SET_COOKIE, response.cookies[COOKIE].output(header="")[1:])


def person_id(request: web.Request) -> str | None:
    return read(request).get("person")


def csrf_token(request: web.Request) -> str:
    return read(request).get("csrf", "")


def csrf_holds(request: web.Request, sent: object) -> bool:
    """Whether a form's or header's token is this session's."""
    expected = csrf_token(request)
    return bool(expected) and isinstance(sent, str) and secrets.compare_digest(sent, expected)
