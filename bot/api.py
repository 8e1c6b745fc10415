"""The JSON API. Errors are JSON too: {"fejl": message, "felter": {field: message}}."""
from __future__ import annotations

import asyncio
import json

from aiohttp import web
from sqlmodel import Session

from handleplaner import record
from handleplaner.access import may_view
from handleplaner.clock import iso_utc
from handleplaner.directory import queries as directory
from handleplaner.incidents import (ActivationInvalid, NotAllowed, close_incident, get_incident,
                                    incident_areas,
                                    list_incidents)
from handleplaner.incidents.states import TransitionRefused
from handleplaner.privacy.parties import sees_full
from handleplaner.storage import transaction
from notifications import overview

from . import access
from .activation import activate_beredskab
from .keys import SERVICES
from .openapi import openapi_document
from .request_input import json_object


def problem(status: int, message: str, fields: dict | None = None) -> web.Response:
    body = {"fejl": message}
    if fields:
        body["felter"] = fields
    return web.json_response(body, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def ok(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status,
                             dumps=lambda d: json.dumps(d, ensure_ascii=False, default=str))


async def in_transaction(request: web.Request, work):
    """Run ``work(session, person)`` for the signed-in person in one transaction, off the event
    loop; the caller maps the domain's refusals (raised unchanged) to answers."""
    services = request.app[SERVICES]
    person = access.caller(request).person

    def run():
        with transaction(services.engine) as session:
            return work(session, person)

    return await asyncio.to_thread(run)


def incident_json(session: Session, incident) -> dict:
    return {
        "id": incident.id, "reference": incident.reference, "incident_type": incident.incident_type,
        "title": incident.title, "description": incident.description,
        "severity": incident.severity, "occurred_at": iso_utc(incident.occurred_at),
        "activated_at": iso_utc(incident.activated_at), "activated_by": incident.activated_by,
        "exercise": incident.exercise, "confidential": incident.confidential,
        "whole_city": incident.whole_city, "areas": incident_areas(session, incident.id),
        "state": incident.state,
    }


_ERRORS = {401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound}


def _raise(status: int, message: str) -> web.HTTPException:
    return _ERRORS[status](text=json.dumps({"fejl": message}, ensure_ascii=False),
                           content_type="application/json")


def named_row(request: web.Request, row, message: str):
    """A row the route's path names (a plan, meeting, alert, delivery), if it belongs to the
    incident the guard resolved from that same id; else the API's 404 for a missing id."""
    if row is None or row.incident_id != access.named_incident(request).id:
        raise _raise(404, message)
    return row


@access.rule(access.PUBLIC)
async def openapi(request: web.Request) -> web.Response:
    roles = {(r.resource.canonical, r.method.lower()): access.rule_of(r.handler).role
             for r in request.app.router.routes()
             if r.resource is not None and access.rule_of(r.handler) is not None}
    return ok(openapi_document(request.app[SERVICES].settings.public_url,
                               role_of=lambda path, method: roles.get((path, method))))


@access.rule(access.SIGNED_IN)
async def areas(request: web.Request) -> web.Response:
    with Session(request.app[SERVICES].engine) as session:
        return ok([{"code": a.code, "name": a.name} for a in directory.all_areas(session)])


@access.rule(access.SIGNED_IN)
async def incidents(request: web.Request) -> web.Response:
    person = access.caller(request).person
    with Session(request.app[SERVICES].engine) as session:
        # The list leaves out the description (personal data); reading it is logged per incident.
        return ok([{k: v for k, v in incident_json(session, i).items() if k != "description"}
                   for i in list_incidents(session)
                   if may_view(session, person.id, i.id)])


@access.rule(access.ACTIVATOR)
async def create_incident(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    person = access.caller(request).person
    data = await json_object(request)
    try:
        activated = await asyncio.to_thread(activate_beredskab, services.engine,
                                            actor_id=person.id, data=data,
                                            escalate_after_s=int(
                                                services.settings.activation_escalate_minutes * 60))
    except NotAllowed as refusal:
        return problem(403, str(refusal))
    except ActivationInvalid as invalid:
        return problem(422, "Beredskabet er ikke aktiveret: forespørgslen har fejl.", invalid.errors)
    services.worker.wakeup.set()
    with Session(services.engine) as session:
        body = incident_json(session, get_incident(session, activated.incident.id))
    body["alert"] = {"id": activated.alert.alert.id,
                     "recipients": len({d.person_id for d in activated.alert.deliveries}),
                     "deliveries": {"teams": activated.alert.count("teams"),
                                    "email": activated.alert.count("email")},
                     "unreachable": activated.alert.unreachable}
    return ok(body, status=201)


@access.rule(access.incident())
async def incident(request: web.Request) -> web.Response:
    found = access.named_incident(request)
    with Session(request.app[SERVICES].engine) as session:
        body = incident_json(session, found)
        if not sees_full(session, access.caller(request).person, found):
            body["description"] = ""  # a party outside the SSP parties: the shareable version
        body["deliveries"] = overview.counts(overview.deliveries(session, found.id))
        return ok(body)


@access.rule(access.incident())
async def deliveries(request: web.Request) -> web.Response:
    found = access.named_incident(request)
    with Session(request.app[SERVICES].engine) as session:
        return ok([row.as_json() for row in overview.deliveries(session, found.id)])


@access.rule(access.incident())
async def incident_record(request: web.Request) -> web.Response:
    found = access.named_incident(request)
    with Session(request.app[SERVICES].engine) as session:
        return ok([record.as_dict(e, session) for e in record.entries(session, found.id)])


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def close(request: web.Request) -> web.Response:
    """Close the incident (normaldrift); retention of its personal data counts from now."""
    incident_id = request[access.INCIDENT_KEY]

    def work(session, person):
        close_incident(session, incident_id=incident_id, actor_id=person.id)
        return incident_json(session, get_incident(session, incident_id))

    try:
        return ok(await in_transaction(request, work))
    except TransitionRefused as refusal:
        return problem(409, str(refusal))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/openapi.json", openapi),
        web.get("/api/areas", areas),
        web.get("/api/incidents", incidents),
        web.post("/api/incidents", create_incident),
        web.get("/api/incidents/{incident_id}", incident),
        web.get("/api/incidents/{incident_id}/deliveries", deliveries),
        web.get("/api/incidents/{incident_id}/record", incident_record),
        web.post("/api/incidents/{incident_id}/close", close),
    ]
