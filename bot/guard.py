"""The access middleware: enforces each route's declared rule (``bot/access.py``), asking the
domain's access policy (``handleplaner/access.py``), before the handler runs; checks CSRF on
state-changing requests; and logs every read of an incident's personal data.

Refusals: an anonymous caller gets 401 (API) or is sent to sign in (pages); a caller without the
role gets 403; an incident the caller may not see is 404, exactly as if it did not exist.
"""
from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from aiohttp import web
from sqlmodel import Session

from handleplaner import access as policy
from handleplaner.record.reads import log_read

from . import access, web_session
from .keys import SERVICES

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _refusal(request: web.Request, status: int, message: str) -> web.HTTPException:
    kind = {401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound}[status]
    if _is_api(request):
        return kind(text=json.dumps({"fejl": message}, ensure_ascii=False),
                    content_type="application/json")
    return kind(text=message)


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _sign_in_first(request: web.Request) -> web.HTTPException:
    if _is_api(request):
        return _refusal(request, 401, "Du er ikke logget ind.")
    target = request.path_qs if request.method in ("GET", "HEAD") else "/"
    return web.HTTPSeeOther(f"/log-ind?next={quote(target, safe='')}")


async def _csrf_holds(request: web.Request) -> bool:
    """A cookie-signed-in caller must prove the request comes from our own pages: the form's
    ``csrf`` field or the ``X-CSRF-Token`` header. The demo API header cannot be sent across
    sites without the browser asking first, so it needs no token."""
    if not web_session.person_id(request):
        return True  # not signed in by cookie: the demo header, checked elsewhere
    if web_session.csrf_holds(request, request.headers.get(access.CSRF_HEADER)):
        return True
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()  # aiohttp caches it for the handler
        return web_session.csrf_holds(request, form.get("csrf"))
    return False


def _decide(request: web.Request, declared: access.Rule, engine) -> access.Caller:
    """Runs in a worker thread: who is calling and may they (the domain's policy decides).
    Returns the caller - the person and their standing, with the incident, detached from this
    session for the handler - or raises the refusal. An incident that does not exist and one the
    caller may not see run the same statements and get the same 404."""
    with Session(engine) as session:
        person = access.current_person(request, session)
        if person is None:
            raise _sign_in_first(request)
        incident_id = access.incident_of(request, session) if declared.incident else None
        found = policy.standing(session, person.id, incident_id)
        if declared.incident and not found.may_view:
            raise _Refused(404, "Siden findes ikke, eller du har ikke adgang til den.")
        if not found.holds(declared.role):
            raise _Refused(403, access.REFUSALS[declared.role])
        return access.Caller(person=person, standing=found)


@web.middleware
async def guard(request: web.Request, handler):
    if request.match_info.http_exception is not None:
        return await handler(request)  # 404/405 from routing
    declared = access.rule_of(request.match_info.handler)
    if declared is None:  # create_app refuses this; kept as a last line of defence
        raise web.HTTPForbidden(text="Ruten har ingen adgangsregel.")
    if not declared.signed_in:
        return await handler(request)
    services = request.app[SERVICES]
    if request.method in UNSAFE and not await _csrf_holds(request):
        raise web.HTTPForbidden(text="Formularen er udløbet. Genindlæs siden og prøv igen.")
    try:
        caller = await asyncio.to_thread(_decide, request, declared, services.engine)
    except _Refused as refusal:
        if _is_api(request):
            raise _refusal(request, refusal.status, refusal.message) from None
        from .pages import refused  # the Danish page, with the site's layout
        return refused(request, refusal.message, status=refusal.status)
    request[access.CALLER_KEY] = caller
    person_id = request[access.PERSON_KEY] = caller.person.id
    if caller.incident is not None:
        incident_id = request[access.INCIDENT_KEY] = caller.incident.id
        if request.method in ("GET", "HEAD"):
            await asyncio.to_thread(log_read, services.engine, incident_id=incident_id,
                                    person_id=person_id, what=request.path[:200])
    return await handler(request)
