"""The web pages (Danish): sign-in, the incident list, activation, the incident page."""
from __future__ import annotations

import asyncio
from urllib.parse import quote

from aiohttp import web
from sqlmodel import Session

from handleplaner import record
from handleplaner.clock import dansk, local, utcnow
from handleplaner.directory import queries as directory
from handleplaner.incidents import (INCIDENT_TYPES, SEVERITIES, TYPE_LABELS, ActivationInvalid, NotAllowed,
                                    get_incident, incident_areas, list_incidents)
from handleplaner.incidents.kinds import DESCRIPTION_MAX, TITLE_MAX
from handleplaner.incidents.states import STATE_LABELS
from notifications import overview
from notifications.models import DELIVERY_STATES
from notifications.rendering import environment

from . import web_session
from .access import current_person, may_view_incident
from .activation import activate_beredskab
from .keys import SERVICES

_ENV = environment()
_ENV.globals.update(INCIDENT_TYPES=INCIDENT_TYPES, TYPE_LABELS=TYPE_LABELS, SEVERITIES=SEVERITIES, STATE_LABELS=STATE_LABELS,
                    DELIVERY_STATES=DELIVERY_STATES, TITLE_MAX=TITLE_MAX,
                    DESCRIPTION_MAX=DESCRIPTION_MAX)
_ENV.filters["kanal"] = lambda code: {"teams": "Teams", "email": "E-mail",
                                      "smtp": "E-mail (SMTP)"}.get(code, code)
_ENV.filters["lokal"] = lambda moment: local(moment).strftime("%Y-%m-%dT%H:%M")


def page(request: web.Request, name: str, *, status: int = 200, **context) -> web.Response:
    context.setdefault("person", None)
    context["demo"] = request.app[SERVICES].settings.demo
    context["csrf"] = web_session.csrf_token(request)
    html = _ENV.get_template(f"web/{name}").render(**context)
    return web.Response(text=html, content_type="text/html", status=status)


def engine(request: web.Request):
    return request.app[SERVICES].engine


def _signed_in(request: web.Request, session: Session):
    person = current_person(request, session)
    if person is None:
        raise web.HTTPSeeOther(f"/log-ind?next={quote(request.path_qs, safe='')}")
    return person


async def _form(request: web.Request) -> dict:
    form = await request.post()
    if not form.get("csrf") or form.get("csrf") != web_session.csrf_token(request):
        raise web.HTTPForbidden(text="Formularen er udløbet. Genindlæs siden og prøv igen.")
    return form


async def index(request: web.Request) -> web.Response:
    with Session(engine(request)) as session:
        person = _signed_in(request, session)
        allowed = directory.may_activate(session, person.id)
        incidents = [i for i in list_incidents(session)
                     if may_view_incident(session, person.id, i.id)]
        groups = directory.groups_of(session, person.id)
        return page(request, "index.html.j2", person=person, incidents=incidents,
                    may_activate=allowed, groups=groups, dansk=dansk)


async def sign_in_page(request: web.Request) -> web.Response:
    if not request.app[SERVICES].settings.demo:
        return page(request, "sign_in_unavailable.html.j2", status=501)
    with Session(engine(request)) as session:
        people = directory.list_people(session)
        authorities = {a.code: a.name for a in directory.authorities(session)}
        groups = {p.id: [g.name for g in directory.groups_of(session, p.id)] for p in people}
    return page(request, "sign_in.html.j2", people=people, authorities=authorities, groups=groups,
                next=request.query.get("next", "/"))


async def sign_in(request: web.Request) -> web.Response:
    if not request.app[SERVICES].settings.demo:
        raise web.HTTPNotImplemented(text="Demo-login findes kun i demo-tilstand.")
    form = await request.post()
    with Session(engine(request)) as session:
        person = directory.get_person(session, str(form.get("person", "")))
    if person is None or not person.active:
        raise web.HTTPBadRequest(text="Ukendt person.")
    target = str(form.get("next", "/"))
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = web.HTTPSeeOther(target)
    web_session.sign_in(request, response, person.id)
    raise response


async def sign_out(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/log-ind")
    web_session.sign_out(response)
    raise response


def _activation_form(session: Session, person, values: dict, errors: dict, request, status=200):
    areas = directory.all_areas(session)
    return page(request, "activate.html.j2", status=status, person=person, areas=areas,
                values=values, errors=errors)


async def activate_page(request: web.Request) -> web.Response:
    with Session(engine(request)) as session:
        person = _signed_in(request, session)
        if not directory.may_activate(session, person.id):
            return page(request, "refused.html.j2", status=403, person=person)
        now = local(utcnow()).strftime("%Y-%m-%dT%H:%M")
        return _activation_form(session, person, {"occurred_at": now, "severity": "akut"}, {},
                                request)


def activation_data(form) -> dict:
    """The form's fields as the activation request expects them (strings kept for re-display)."""
    return {
        "incident_type": form.get("incident_type", ""),
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "severity": form.get("severity", ""),
        "occurred_at": form.get("occurred_at", ""),
        "areas": list(form.getall("areas", [])),
        "whole_city": form.get("whole_city") == "ja",
        "exercise": form.get("exercise") == "ja",
        "confidential": form.get("confidential") == "ja",
    }


async def activate_submit(request: web.Request) -> web.Response:
    form = await _form(request)
    data = activation_data(form)
    services = request.app[SERVICES]
    with Session(services.engine) as session:
        person = _signed_in(request, session)
    try:
        activated = await asyncio.to_thread(activate_beredskab, services.engine,
                                            actor_id=person.id, data=data,
                                            escalate_after_s=int(
                                                services.settings.activation_escalate_minutes * 60))
    except NotAllowed:
        return page(request, "refused.html.j2", status=403, person=person)
    except ActivationInvalid as invalid:
        with Session(services.engine) as session:
            return _activation_form(session, person, data, invalid.errors, request, status=422)
    services.worker.wakeup.set()
    raise web.HTTPSeeOther(f"/haendelser/{activated.incident.id}")


async def incident_page(request: web.Request) -> web.Response:
    try:
        incident_id = int(request.match_info["incident_id"])
    except ValueError:
        raise web.HTTPNotFound(text="Hændelsen findes ikke.")
    with Session(engine(request)) as session:
        person = _signed_in(request, session)
        incident = get_incident(session, incident_id)
        if incident is None:
            raise web.HTTPNotFound(text="Hændelsen findes ikke.")
        if not may_view_incident(session, person.id, incident.id):
            return page(request, "refused.html.j2", status=403, person=person)
        rows = overview.deliveries(session, incident.id)
        areas = {a.code: a.name for a in directory.all_areas(session)}
        activator = directory.get_person(session, incident.activated_by)
        from notifications.models import Delivery
        from notifications.progress import incident_progress
        from notifications.resend import other_channels

        available = tuple(request.app[SERVICES].worker.channels)
        resend_options = {r.delivery_id: other_channels(session, session.get(Delivery, r.delivery_id),
                                                        available)
                          for r in rows if r.state == "fejlet"}
        return page(request, "incident.html.j2", person=person, incident=incident,
                    progress=incident_progress(session, incident.id),
                    may_compose=directory.may_activate(session, person.id),
                    resend_options=resend_options,
                    channel_posts=_channel_posts(session, incident.id),
                    areas=[areas.get(c, c) for c in incident_areas(session, incident.id)],
                    activator=activator, deliveries=rows, counts=overview.counts(rows),
                    entries=record.entries(session, incident.id), dansk=dansk,
                    pending=any(r.state == "i_koe" for r in rows) or any(
                        r.state == "sendt" for r in rows if r.channel in ("teams", "email")))


def _channel_posts(session: Session, incident_id: int) -> list:
    from sqlmodel import select

    from handleplaner.directory.models import Group
    from notifications.models import ChannelPost

    return list(session.exec(select(ChannelPost, Group).join(Group, Group.code == ChannelPost.group_code)
                             .where(ChannelPost.incident_id == incident_id).order_by(ChannelPost.id)))


INFO_PAGES = {
    "om": ("Om SSP Beredskab", "SSP Beredskab er SSP Københavns værktøj til beredskabet: hændelser, "
           "varsling af parterne, fælles handleplaner og myndighedernes opgaver. Det drives af SSP "
           "Sekretariatet."),
    "privatliv": ("Privatliv", "SSP Beredskab behandler oplysninger om medarbejdere i SSP-"
                  "organisationen (navn, stilling, myndighed, kontaktoplysninger) for at kunne varsle "
                  "og følge op (retsplejelovens § 115, databeskyttelsesforordningen). Oplysninger om "
                  "unge deles kun med parterne efter behov og aldrig i varsler eller i versionen til "
                  "Team Sikker By. Kontakt SSP Sekretariatet om indsigt."),
    "vilkaar": ("Vilkår", "SSP Beredskab må kun bruges af SSP Københavns parter i forbindelse med "
                "beredskabet. Videregiv ikke indhold uden for beredskabet."),
}


async def info_page(request: web.Request) -> web.Response:
    title, text = INFO_PAGES[request.match_info["side"]]
    return page(request, "info.html.j2", title=title, text=text)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/{side:om|privatliv|vilkaar}", info_page),
        web.get("/", index),
        web.get("/log-ind", sign_in_page),
        web.post("/log-ind", sign_in),
        web.post("/log-ud", sign_out),
        web.get("/aktiver", activate_page),
        web.post("/aktiver", activate_submit),
        web.get("/haendelser/{incident_id}", incident_page),
    ]
