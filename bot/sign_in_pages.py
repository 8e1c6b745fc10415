"""Sign-in with Microsoft (Entra ID): ``/log-ind/microsoft`` starts it, and Entra ID sends the
browser back to ``/log-ind/microsoft/svar``.

In between, the attempt (state, nonce, PKCE verifier, where to go afterwards) waits in a short-
lived signed cookie sent only to these paths. The person signed in is the directory's person with
the id_token's e-mail address (and, when the directory knows it, the same Entra object id); anyone
else, or someone no longer active, is refused and nothing is signed in.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import re

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from handleplaner.directory import queries as directory

from . import access, web_session
from .entra_sign_in import ENTRA_SIGN_IN, Attempt, Identity, SignInFailed
from .keys import SERVICES
from .pages import local_target, page

ATTEMPT_COOKIE = "beredskab_log_ind"
ATTEMPT_PATH = "/log-ind/microsoft"
ATTEMPT_MAX_AGE = 600  # seconds to finish signing in at Microsoft

EXPIRED = ("Log ind tog for lang tid, eller det blev startet i en anden browser eller fane. "
           "Prøv igen.")
NOT_CONFIRMED = "Log ind kunne ikke bekræftes. Prøv igen."
CANCELLED = "Log ind blev afbrudt hos Microsoft."
NOT_IN_DIRECTORY = ("Din Microsoft-konto ({email}) findes ikke i SSP Beredskabs adressebog. "
                    "Kontakt SSP Sekretariatet, hvis du skal have adgang.")
INACTIVE = "Din adgang til SSP Beredskab er lukket. Kontakt SSP Sekretariatet."
OTHER_ACCOUNT = ("Din Microsoft-konto passer ikke til personen med e-mailadressen {email} i SSP "
                 "Beredskabs adressebog. Kontakt SSP Sekretariatet.")

log = logging.getLogger(__name__)


def _attempts(request: web.Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app[SERVICES].settings.session_secret,
                                  salt="ssp-beredskab-entra-sign-in")


def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


def _failed(request: web.Request, message: str, *, status: int = 400,
            title: str = "Log ind mislykkedes") -> web.Response:
    response = page(request, "sign_in_failed.html.j2", status=status, title=title, message=message)
    response.del_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH)
    return _no_store(response)


def _attempt(request: web.Request) -> Attempt | None:
    raw = request.cookies.get(ATTEMPT_COOKIE)
    if not raw:
        return None
    try:
        return Attempt.from_dict(_attempts(request).loads(raw, max_age=ATTEMPT_MAX_AGE))
    except BadSignature:
        return None


@access.rule(access.PUBLIC)
async def start(request: web.Request) -> web.Response:
    entra = request.app.get(ENTRA_SIGN_IN)
    if entra is None:
        return page(request, "sign_in_unavailable.html.j2", status=501)
    try:
        url, attempt = await entra.begin(local_target(request.query.get("next")))
    except SignInFailed as failure:
        return _failed(request, str(failure), status=failure.status)
    response = _no_store(web.HTTPFound(url))
    response.set_cookie(ATTEMPT_COOKIE, _attempts(request).dumps(attempt.as_dict()),
                        max_age=ATTEMPT_MAX_AGE, path=ATTEMPT_PATH, httponly=True,
                        samesite="Lax", secure=web_session.is_secure(request))
    raise response


def _entra_error(query) -> str:
    if query.get("error") == "access_denied":
        return CANCELLED
    code = re.search(r"AADSTS\d+", query.get("error_description", ""))
    reason = code.group(0) if code else re.sub(r"[^a-z_]", "", query.get("error", ""))[:40]
    return f"Microsoft afviste log ind ({reason}). Prøv igen, eller kontakt SSP Sekretariatet."


def _person_for(engine, identity: Identity) -> tuple[str | None, str, str]:
    """(the person's id, "", "") or (None, why not for the log, why not for the person)."""
    with Session(engine) as session:
        person = directory.person_by_email(session, identity.email, include_inactive=True)
        if person is None:
            return None, "not in the directory", NOT_IN_DIRECTORY.format(email=identity.email)
        if not person.active:
            return None, f"{person.id} is not active", INACTIVE
        if person.teams_user_id and person.teams_user_id.lower() != identity.object_id:
            return None, f"{person.id} has another object id", OTHER_ACCOUNT.format(
                email=identity.email)
        return person.id, "", ""


@access.rule(access.PUBLIC)
async def answer(request: web.Request) -> web.Response:
    entra = request.app.get(ENTRA_SIGN_IN)
    if entra is None:
        return page(request, "sign_in_unavailable.html.j2", status=501)
    query = request.query
    if "error" in query:
        log.info("sign-in: Entra ID answered %s", query.get("error", "")[:40])
        return _failed(request, _entra_error(query))
    attempt = _attempt(request)
    if attempt is None:
        return _failed(request, EXPIRED)
    if not hmac.compare_digest(query.get("state", "").encode(), attempt.state.encode()):
        log.warning("sign-in: the state does not match the attempt")
        return _failed(request, NOT_CONFIRMED)
    code = query.get("code", "")
    if not code:
        return _failed(request, NOT_CONFIRMED)
    try:
        identity = await entra.finish(code, attempt)
    except SignInFailed as failure:
        return _failed(request, str(failure), status=failure.status)
    person_id, reason, refusal = await asyncio.to_thread(
        _person_for, request.app[SERVICES].engine, identity)
    if person_id is None:
        log.warning("sign-in refused for Entra object %s: %s", identity.object_id, reason)
        response = _failed(request, refusal, status=403, title="Ingen adgang")
        await web_session.sign_out(request, response)
        return response
    response = _no_store(web.HTTPSeeOther(attempt.next))
    await web_session.sign_in(request, response, person_id)
    response.del_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH)
    raise response


def routes() -> list[web.RouteDef]:
    return [
        web.get("/log-ind/microsoft", start),
        web.get("/log-ind/microsoft/svar", answer),
    ]
