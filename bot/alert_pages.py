"""Web pages for alerts: compose with a preview of the recipients, acknowledge by link, re-send."""
from __future__ import annotations

import asyncio

from aiohttp import web
from sqlmodel import Session

from handleplaner.directory import queries as directory
from handleplaner.directory.models import GROUP_KINDS, ROLES
from handleplaner.incidents import SEVERITIES, NotAllowed
from handleplaner.incidents.outgoing import outgoing_description
from handleplaner.storage import transaction
from notifications.acknowledgements import NotARecipient, acknowledge
from notifications.audiences import Preview
from notifications.compose import (AlertInvalid, compose_alert, parse_alert, resolve_audience)
from notifications.messages import alert_facts
from notifications.models import ALERT_KINDS, Alert
from notifications.outbox import channels_of
from notifications.rendering import render
from notifications.resend import ResendRefused, resend

from . import access, confirmation
from .form_errors import blank_means_missing
from .keys import SERVICES
from .pages import ACTIVATION_REFUSED, _form, engine, page, refused

MULTI = ("groups", "kinds", "areas", "authorities", "roles")


def alert_data(form) -> dict:
    """The compose form as an alert request (strings kept as typed for re-display)."""
    audience = {name: list(form.getall(name, [])) for name in MULTI}
    audience["whole_city"] = form.get("whole_city") == "ja"
    data = {"kind": form.get("kind", "besked"), "severity": form.get("severity", ""),
            "text": form.get("text", ""), "requires_ack": form.get("requires_ack") == "ja",
            "post_in_channels": form.get("post_in_channels") == "ja",
            "include_description": form.get("include_description") == "ja"}
    if form.get("names_reason", "").strip():
        data["names_reason"] = form.get("names_reason")
    if any(audience[name] for name in MULTI):
        data["audience"] = audience
    for name in ("quorum_per_authority", "escalate_after_minutes"):
        if form.get(name, "").strip():
            data[name] = form.get(name).strip()
    return data


def form_values(form, data: dict) -> dict:
    """What the form shows again: everything entered, the audience's choices included even when
    they do not (yet) make an audience (e.g. only 'hele byen')."""
    audience = {name: list(form.getall(name, [])) for name in MULTI}
    audience["whole_city"] = form.get("whole_city") == "ja"
    return dict(data, audience=audience)


def _errors(invalid: AlertInvalid, data: dict) -> dict:
    return blank_means_missing(invalid.errors, data, ("severity", "text"))


def _default_text(session: Session, incident, kind: str, link_base: str) -> str:
    probe = Alert(id=0, incident_id=incident.id, kind=kind, severity=incident.severity,
                  exercise=incident.exercise, title="", body="", created_at=incident.activated_at,
                  created_by="", dedupe_key="")
    return render(f"alerts/{kind}.txt.j2", f=alert_facts(session, probe, link_base,
                                                         incident=incident)).strip()


def _compose(request, session, person, incident, values, errors, shown=None, status=200):
    return page(request, "compose.html.j2", status=status, person=person, incident=incident,
                values=values, errors=errors, preview=shown, kinds=ALERT_KINDS,
                outgoing_description=outgoing_description(
                    incident, bool(values.get("include_description"))),
                group_kinds=GROUP_KINDS, roles=ROLES, areas=directory.all_areas(session),
                groups=directory.list_groups(session),
                authorities=directory.authorities(session),
                confirm_above=confirmation.threshold(request))


@access.rule(access.incident(access.ACTIVATOR_ROLE))
async def compose_page(request: web.Request) -> web.Response:
    person, incident = access.caller(request).person, access.named_incident(request)
    with Session(engine(request)) as session:
        kind = request.query.get("type", "besked")
        kind = kind if kind in ALERT_KINDS and kind != "aktivering" else "besked"
        values = {"kind": kind, "severity": incident.severity, "requires_ack": kind == "besked",
                  "text": _default_text(session, incident, kind,
                                        request.app[SERVICES].settings.public_url),
                  "audience": {}}
        return _compose(request, session, person, incident, values, {})


@access.rule(access.incident(access.ACTIVATOR_ROLE))
async def compose_submit(request: web.Request) -> web.Response:
    """"vis": show the recipients; "send": send, unless the alert goes to more than 50 people,
    which first shows the confirmation step; "bekraeft": send what was confirmed; "ret": back to
    the form from the confirmation step. Nothing is written before the alert is sent."""
    form = await _form(request)
    data = alert_data(form)
    action = form.get("handling", "vis")
    services = request.app[SERVICES]
    person, incident = access.caller(request).person, access.named_incident(request)
    with Session(services.engine) as session:
        values = form_values(form, data)
        if action == confirmation.BACK:
            return _compose(request, session, person, incident, values, {})
        try:
            parsed = parse_alert(data, incident=incident, session=session)
            people, _ = resolve_audience(session, incident.id, parsed)
        except AlertInvalid as invalid:
            return _compose(request, session, person, incident, values, _errors(invalid, data),
                            status=422)
        if action not in ("send", confirmation.CONFIRM):
            shown = Preview(people=people, unreachable=[p for p in people if not channels_of(p)])
            return _compose(request, session, person, incident, values, {}, shown)
        ask, notice = confirmation.needs_confirmation(request, form, len(people))
        if ask:
            return page(request, "confirm_alert.html.j2", person=person,
                        outgoing={"text": parsed.text, "description": outgoing_description(
                            incident, parsed.include_description)},
                        **confirmation.context(
                            request, session, form, people, notice=notice,
                            action=f"/haendelser/{incident.id}/varsel", exercise=incident.exercise,
                            what=(f"{ALERT_KINDS[parsed.kind]} om {incident.reference} "
                                  f"{incident.title} ({SEVERITIES[parsed.severity].lower()}).")))

    def accept():
        with transaction(services.engine) as session:
            return compose_alert(session, incident_id=incident.id, actor_id=person.id, data=data)

    try:
        await asyncio.to_thread(accept)
    except NotAllowed:
        return refused(request, ACTIVATION_REFUSED, person=person)
    except AlertInvalid as invalid:
        with Session(services.engine) as session:
            return _compose(request, session, person, incident, values, _errors(invalid, data),
                            status=422)
    services.worker.wakeup.set()
    raise web.HTTPSeeOther(f"/haendelser/{incident.id}#varsler")


def _alert(request: web.Request, session: Session) -> Alert:
    try:
        alert = session.get(Alert, int(request.match_info["alert_id"]))
    except ValueError:
        alert = None
    if alert is None:
        raise web.HTTPNotFound(text="Varslet findes ikke.")
    return alert


@access.rule(access.incident())
async def acknowledge_page(request: web.Request) -> web.Response:
    """The email's link. A GET changes nothing (mail scanners follow links); the button posts."""
    person = access.caller(request).person
    with Session(engine(request)) as session:
        alert = _alert(request, session)
        facts = alert_facts(session, alert, request.app[SERVICES].settings.public_url)
        return page(request, "acknowledge.html.j2", person=person, alert=alert, f=facts,
                    done=None)


@access.rule(access.incident())
async def acknowledge_submit(request: web.Request) -> web.Response:
    await _form(request)
    services = request.app[SERVICES]
    person = access.caller(request).person
    with Session(services.engine) as session:
        alert = _alert(request, session)

    def ack():
        with transaction(services.engine) as session:
            done = acknowledge(session, alert_id=alert.id, person_id=person.id, via="email")
            facts = alert_facts(session, done.alert, services.settings.public_url)
            return done.text, facts

    try:
        text, facts = await asyncio.to_thread(ack)
    except NotARecipient as refusal:
        return page(request, "refused_ack.html.j2", status=403, person=person, reason=str(refusal))
    services.worker.wakeup.set()
    return page(request, "acknowledge.html.j2", person=person, alert=alert, f=facts, done=text)


@access.rule(access.incident(access.ACTIVATOR_ROLE))
async def resend_submit(request: web.Request) -> web.Response:
    form = await _form(request)
    services = request.app[SERVICES]
    caller = access.caller(request)
    person = caller.person
    if not caller.may_activate:
        return refused(request, ACTIVATION_REFUSED, person=person)

    def again():
        with transaction(services.engine) as session:
            delivery = resend(session, delivery_id=int(request.match_info["delivery_id"]),
                              channel=form.get("channel", ""), actor_id=person.id,
                              available=tuple(services.worker.channels))
            return delivery.incident_id

    try:
        incident_id = await asyncio.to_thread(again)
    except (ResendRefused, ValueError) as refusal:
        raise web.HTTPUnprocessableEntity(text=str(refusal))
    services.worker.wakeup.set()
    raise web.HTTPSeeOther(f"/haendelser/{incident_id}#leveringer")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/haendelser/{incident_id}/varsel", compose_page),
        web.post("/haendelser/{incident_id}/varsel", compose_submit),
        web.get("/kvitter/{alert_id}", acknowledge_page),
        web.post("/kvitter/{alert_id}", acknowledge_submit),
        web.post("/leveringer/{delivery_id}/send-igen", resend_submit),
    ]

