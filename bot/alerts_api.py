"""JSON API for alerts: preview the audience, send, follow progress, acknowledge, re-send."""
from __future__ import annotations

import asyncio

from aiohttp import web
from sqlmodel import Session

from handleplaner.incidents import NotAllowed
from handleplaner.incidents.outgoing import outgoing_description
from handleplaner.storage import transaction
from notifications.acknowledgements import NotARecipient, acknowledge
from notifications.audiences import Preview
from notifications.compose import AlertInvalid, compose_alert, parse_alert, resolve_audience
from notifications.models import Alert, Delivery
from notifications.outbox import channels_of
from notifications.progress import alert_progress, incident_progress
from notifications.resend import ResendRefused, resend

from . import access
from .api import named_row, ok, problem
from .keys import SERVICES
from .request_input import Fields, json_object, path_id


@access.rule(access.incident(access.ACTIVATOR_ROLE))
async def preview_alert(request: web.Request) -> web.Response:
    data = await json_object(request)
    incident = access.named_incident(request)
    with Session(request.app[SERVICES].engine) as session:
        try:
            parsed = parse_alert(data, incident=incident, session=session)
            people, _ = resolve_audience(session, incident.id, parsed)
        except AlertInvalid as invalid:
            return problem(422, "Modtagerne kan ikke findes: forespørgslen har fejl.", invalid.errors)
        shown = Preview(people=people, unreachable=[p for p in people if not channels_of(p)])
        # What the alert carries: its text, and the description only when chosen.
        description = outgoing_description(incident, parsed.include_description)
        return ok(dict(shown.as_json(), sends={"text": parsed.text,
                                               "description": description or None}))


@access.rule(access.incident(access.ACTIVATOR_ROLE))
async def send_alert(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data = await json_object(request)
    person, incident = access.caller(request).person, access.named_incident(request)

    def accept():
        with transaction(services.engine) as session:
            accepted = compose_alert(session, incident_id=incident.id, actor_id=person.id, data=data)
            return accepted, alert_progress(session, accepted.alert).as_json()

    try:
        accepted, body = await asyncio.to_thread(accept)
    except NotAllowed as refusal:
        return problem(403, str(refusal))
    except AlertInvalid as invalid:
        return problem(422, "Varslet er ikke sendt: forespørgslen har fejl.", invalid.errors)
    services.worker.wakeup.set()
    body["merged"] = accepted.merged
    body["unreachable"] = accepted.unreachable
    return ok(body, status=200 if accepted.merged else 201)


@access.rule(access.incident())
async def list_alerts(request: web.Request) -> web.Response:
    incident = access.named_incident(request)
    with Session(request.app[SERVICES].engine) as session:
        return ok([p.as_json() for p in incident_progress(session, incident.id)])


def _alert_or_error(session: Session, request: web.Request) -> Alert:
    """The alert the path names; the guard has resolved its incident and let the caller in."""
    alert = session.get(Alert, path_id(request, "alert_id", "Varslet findes ikke."))
    return named_row(request, alert, "Varslet findes ikke.")


@access.rule(access.incident())
async def acknowledge_alert(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    person = access.caller(request).person
    with Session(services.engine) as session:
        alert = _alert_or_error(session, request)

    def ack():
        with transaction(services.engine) as session:
            done = acknowledge(session, alert_id=alert.id, person_id=person.id, via="web")
            return {"alert_id": alert.id, "acknowledged_at": done.at.isoformat(),
                    "already": done.already, "quorum_reached": done.alert.state == "kvitteret",
                    "text": done.text}

    try:
        body = await asyncio.to_thread(ack)
    except NotARecipient as refusal:
        return problem(403, str(refusal))
    services.worker.wakeup.set()
    return ok(body)


@access.rule(access.incident(access.ACTIVATOR_ROLE))
async def resend_delivery(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    data = await json_object(request)
    caller = access.caller(request)
    person = caller.person
    with Session(services.engine) as session:
        delivery = named_row(request, session.get(Delivery, path_id(
            request, "delivery_id", "Leveringen findes ikke.")), "Leveringen findes ikke.")
    fields = Fields(data)
    channel = fields.text("channel", longest=20)
    fields.check()
    if not caller.may_activate:
        return problem(403, "Kun SSP Sekretariatet, styregruppen og ledergrupperne kan sende igen.")

    def again():
        with transaction(services.engine) as session:
            return resend(session, delivery_id=delivery.id, channel=channel,
                          actor_id=person.id,
                          available=tuple(services.worker.channels)).id

    try:
        new_id = await asyncio.to_thread(again)
    except ResendRefused as refusal:
        return problem(422, str(refusal))
    services.worker.wakeup.set()
    return ok({"delivery_id": new_id}, status=201)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/incidents/{incident_id}/alerts/preview", preview_alert),
        web.post("/api/incidents/{incident_id}/alerts", send_alert),
        web.get("/api/incidents/{incident_id}/alerts", list_alerts),
        web.post("/api/alerts/{alert_id}/acknowledge", acknowledge_alert),
        web.post("/api/deliveries/{delivery_id}/resend", resend_delivery),
    ]
