"""The web pages (Danish): sign-in, the incident list, activation, the incident page."""
from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web
from sqlmodel import Session

from handleplaner import record
from handleplaner.clock import dansk, local, utcnow
from handleplaner.directory import queries as directory
from handleplaner.incidents import (INCIDENT_TYPES, SEVERITIES, TYPE_LABELS, ActivationInvalid, NotAllowed,
                                    close_incident, incident_areas)
from handleplaner.incidents.kinds import DESCRIPTION_MAX, TITLE_MAX
from handleplaner.involved.models import ROLES as INVOLVED_ROLES
from handleplaner.privacy.parties import sees_full
from handleplaner.incidents.states import STATE_LABELS, TransitionRefused
from handleplaner.storage import transaction
from notifications import overview
from notifications.models import ALERT_KINDS, DELIVERY_STATES
from notifications.rendering import environment

from . import access, overview_page, web_session
from .access import current_person
from .activation import activate_beredskab, activation_preview
from . import confirmation
from .form_errors import blank_means_missing
from .keys import SERVICES

ACTIVATION_REQUIRED = ("incident_type", "title", "description", "severity", "occurred_at")

_ENV = environment()
_ENV.globals.update(INCIDENT_TYPES=INCIDENT_TYPES, TYPE_LABELS=TYPE_LABELS, SEVERITIES=SEVERITIES, STATE_LABELS=STATE_LABELS,
                    DELIVERY_STATES=DELIVERY_STATES, TITLE_MAX=TITLE_MAX,
                    DESCRIPTION_MAX=DESCRIPTION_MAX, INVOLVED_ROLES=INVOLVED_ROLES)
_ENV.filters["kanal"] = lambda code: {"teams": "Teams", "email": "E-mail",
                                      "smtp": "E-mail (SMTP)"}.get(code, code)
_ENV.filters["lokal"] = lambda moment: local(moment).strftime("%Y-%m-%dT%H:%M")


def page(request: web.Request, name: str, *, status: int = 200, **context) -> web.Response:
    context.setdefault("person", None)
    if "nav_statistics" not in context:
        context["nav_statistics"] = _secretariat(request, context["person"])
    context["demo"] = request.app[SERVICES].settings.demo
    context["csrf"] = web_session.csrf_token(request)
    html = _ENV.get_template(f"web/{name}").render(**context)
    return web.Response(text=html, content_type="text/html", status=status)


def _secretariat(request: web.Request, person) -> bool:
    """Whether the navigation shows the secretariat's pages (the statistics): as the guard found
    the caller, or on a public page (signing out) asked of the person shown."""
    if person is None:
        return False
    found = access.caller_if_any(request)
    if found is not None and found.person.id == person.id:
        return found.secretariat
    with Session(engine(request)) as session:
        return directory.is_secretariat(session, person.id)


HEADINGS = {403: "Ingen adgang", 404: "Findes ikke"}
ACTIVATION_REFUSED = ("Kun SSP-styregruppen, SSP Sekretariatet og SSP-ledergrupperne kan aktivere "
                      "beredskabet.")


def refused(request: web.Request, message: str, *, status: int = 403, person=None) -> web.Response:
    return page(request, "refused.html.j2", status=status, person=person,
                heading=HEADINGS[status], message=message, refusal=status)


def engine(request: web.Request):
    return request.app[SERVICES].engine


async def posted_form(request: web.Request) -> dict:
    """A posted form, with the session's CSRF token checked (403 in Danish otherwise)."""
    form = await request.post()
    if not form.get("csrf") or form.get("csrf") != web_session.csrf_token(request):
        raise web.HTTPForbidden(text="Formularen er udløbet. Genindlæs siden og prøv igen.")
    return form


_form = posted_form  # the name the older page modules import


@access.rule(access.SIGNED_IN)
async def index(request: web.Request) -> web.Response:
    caller = access.caller(request)
    person = caller.person
    with Session(engine(request)) as session:
        return page(request, "index.html.j2", person=person,
                    overview=overview_page.overview(session, person.id),
                    may_activate=caller.may_activate, nav_statistics=caller.secretariat,
                    ALERT_KINDS=ALERT_KINDS, dansk=dansk,
                    dato=lambda moment: local(moment).strftime("%d.%m.%Y"))


def local_target(value: object) -> str:
    """Where to go after signing in: a path on this site, else the front page."""
    target = str(value or "/")
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(
            ord(c) < 32 for c in target):
        return "/"
    return target


SIGN_IN_NOT_CONFIRMED = ("Log ind kunne ikke bekræftes: siden var for gammel, eller formularen kom "
                         "fra et andet websted. Vælg personen igen.")
SIGN_OUT_NOT_CONFIRMED = ("Log ud kunne ikke bekræftes: formularen var for gammel, eller den kom fra "
                          "et andet websted. Du er stadig logget ind; brug knappen Log ud her.")


def _sign_in_form(request: web.Request, *, status: int = 200, error: str = "",
                  target: object = None) -> web.Response:
    settings = request.app[SERVICES].settings
    people, authorities, groups = [], {}, {}
    if settings.demo:
        with Session(engine(request)) as session:
            people = directory.list_people(session)
            authorities = {a.code: a.name for a in directory.authorities(session)}
            groups = {p.id: [g.name for g in directory.groups_of(session, p.id)] for p in people}
    if settings.demo:  # the picker's form carries a token; a new one goes out in a cookie
        web_session.login_csrf_token(request)
    return page(request, "sign_in.html.j2", status=status, people=people,
                authorities=authorities, groups=groups, microsoft=settings.entra_sign_in,
                next=local_target(target), error=error)


@access.rule(access.PUBLIC)
async def sign_in_page(request: web.Request) -> web.Response:
    """Shows "Log ind med Microsoft" if Entra ID is set up; in demo mode the person picker."""
    settings = request.app[SERVICES].settings
    if not settings.demo and not settings.entra_sign_in:
        return page(request, "sign_in_unavailable.html.j2", status=501)
    return _sign_in_form(request, target=request.query.get("next"))


@access.rule(access.PUBLIC)
async def sign_in(request: web.Request) -> web.Response:
    """The demo's sign-in: the person picked, with the sign-in page's CSRF token."""
    if not request.app[SERVICES].settings.demo:
        raise web.HTTPNotImplemented(text="Demo-login findes kun i demo-tilstand.")
    form = await request.post()
    if not web_session.csrf_holds(request, form.get("csrf")):
        return _sign_in_form(request, status=403, error=SIGN_IN_NOT_CONFIRMED,
                             target=form.get("next"))
    with Session(engine(request)) as session:
        person = directory.get_person(session, str(form.get("person", "")))
    if person is None or not person.active:
        return _sign_in_form(request, status=400, error="Ukendt person. Vælg en person på listen.",
                             target=form.get("next"))
    response = web.HTTPSeeOther(local_target(form.get("next")))
    await web_session.sign_in(request, response, person.id)
    raise response


@access.rule(access.PUBLIC)
async def sign_out(request: web.Request) -> web.Response:
    """End the session on every replica. Only with the session's CSRF token: a log-out posted
    from another site is refused. Without a session there is nothing to end."""
    if web_session.person_id(request) is None:
        raise web.HTTPSeeOther("/log-ind")
    form = await request.post()
    if not web_session.csrf_holds(request, form.get("csrf")):
        with Session(engine(request)) as session:
            return refused(request, SIGN_OUT_NOT_CONFIRMED, person=current_person(request, session))
    response = web.HTTPSeeOther("/log-ind")
    await web_session.sign_out(request, response)
    raise response


def _activation_form(session: Session, person, values: dict, errors: dict, request, status=200,
                     preview=None):
    areas = directory.all_areas(session)
    return page(request, "activate.html.j2", status=status, person=person, areas=areas,
                values=values, errors=errors, confirm_above=confirmation.threshold(request),
                preview=preview)


@access.rule(access.ACTIVATOR)
async def activate_page(request: web.Request) -> web.Response:
    caller = access.caller(request)
    person = caller.person
    if not caller.may_activate:
        return refused(request, ACTIVATION_REFUSED, person=person)
    with Session(engine(request)) as session:
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
        "include_description": form.get("include_description") == "ja",
        "names_reason": form.get("names_reason", ""),
        "involved": ([{"name": form.get("involved_name", ""),
                       "nicknames": form.get("involved_nicknames", ""),
                       "age": form.get("involved_age", ""),
                       "role": form.get("involved_role", "") or "ung"}]
                     if form.get("involved_name", "").strip() else []),
    }


def _shown(form, data: dict) -> dict:
    """The values the form shows again: the request's, and the involved person's fields."""
    return dict(data, **{name: form.get(name, "") for name in (
        "involved_name", "involved_nicknames", "involved_age", "involved_role")})


@access.rule(access.ACTIVATOR)
async def activate_submit(request: web.Request) -> web.Response:
    form = await _form(request)
    data = activation_data(form)
    services = request.app[SERVICES]
    person = access.caller(request).person
    with Session(services.engine) as session:
        if form.get("handling") == confirmation.BACK:  # from the confirmation step, all kept
            return _activation_form(session, person, _shown(form, data), {}, request)
    try:
        shown = await asyncio.to_thread(activation_preview, services.engine,
                                        actor_id=person.id, data=data)
        if form.get("handling") == "vis":  # what the alert carries and to how many; nothing sent
            with Session(services.engine) as session:
                return _activation_form(session, person, _shown(form, data), {}, request,
                                        preview=shown)
        people = shown.people
        ask, notice = confirmation.needs_confirmation(request, form, len(people))
        if ask:  # more than 50 people: nothing is written before the sender confirms
            with Session(services.engine) as session:
                return page(request, "confirm_alert.html.j2", person=person,
                            outgoing=shown,
                            **confirmation.context(
                                request, session, form, people, action="/aktiver",
                                exercise=data["exercise"], notice=notice,
                                what="Aktiveringen varsler lederne i ledergrupperne for de berørte "
                                     "områder og SSP Sekretariatet."))
        activated = await asyncio.to_thread(activate_beredskab, services.engine,
                                            actor_id=person.id, data=data,
                                            escalate_after_s=int(
                                                services.settings.activation_escalate_minutes * 60))
    except NotAllowed:
        return refused(request, ACTIVATION_REFUSED, person=person)
    except ActivationInvalid as invalid:
        errors = blank_means_missing(invalid.errors, data, ACTIVATION_REQUIRED)
        with Session(services.engine) as session:
            return _activation_form(session, person, _shown(form, data), errors, request,
                                    status=422)
    services.worker.wakeup.set()
    raise web.HTTPSeeOther(f"/haendelser/{activated.incident.id}")


@access.rule(access.incident())
async def incident_page(request: web.Request) -> web.Response:
    return incident_view(request)


def incident_view(request: web.Request, *, status: int = 200,
                  involved_form: dict | None = None) -> web.Response:
    """The incident page for the caller the door resolved; ``involved_form`` carries what was
    typed into the involved people's form and its errors, shown again (``involved_pages``)."""
    from .involved_pages import section

    caller = access.caller(request)
    person, incident = caller.person, access.named_incident(request)
    with Session(engine(request)) as session:
        full = sees_full(session, person, incident)
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
        from notifications.timeline import timeline

        from .commitment_pages import board_context

        states = Counter(r.state for r in rows)
        progress = incident_progress(session, incident.id)
        return page(request, "incident.html.j2", status=status, person=person,
                    incident=incident, shareable=not full,
                    **section(session, caller, involved_form, full=full),
                    timeline=timeline(session, incident.id, progress=progress),
                    **board_context(session, incident, back="haendelse",
                                    error=request.query.get("opgavefejl", ""),
                                    error_id=request.query.get("opgave", "")),
                    delivery_summary=", ".join(f"{states[code]} {label.lower()}"
                                               for code, label in DELIVERY_STATES.items()
                                               if states[code]) or "ingen leveringer",
                    names={p.id: p.name for p in directory.list_people(session,
                                                                       include_inactive=True)},
                    progress=progress,
                    may_compose=caller.may_activate, may_export=caller.secretariat,
                    resend_options=resend_options,
                    channel_posts=_channel_posts(session, incident.id),
                    areas=[areas.get(c, c) for c in incident_areas(session, incident.id)],
                    activator=activator, deliveries=rows, counts=overview.counts(rows),
                    **_record_context(session, incident.id), dansk=dansk,
                    # Without JavaScript the page reloads itself only when asked to (WCAG 2.2.1).
                    auto_refresh=request.query.get("opdater") == "1",
                    pending=any(r.state == "i_koe" for r in rows) or any(
                        r.state == "sendt" for r in rows if r.channel in ("teams", "email")))


def _record_context(session: Session, incident_id: int) -> dict:
    """The whole record, each entry with what it says (its personal part decrypted while the
    incident's key exists)."""
    entries = record.entries(session, incident_id)
    return {"entries": entries, "entry_texts": {e.seq: record.readable(session, e) for e in entries}}


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def close_submit(request: web.Request) -> web.Response:
    await _form(request)
    services = request.app[SERVICES]
    incident_id = request[access.INCIDENT_KEY]

    def close():
        with transaction(services.engine) as session:
            close_incident(session, incident_id=incident_id,
                           actor_id=request[access.PERSON_KEY])

    try:
        await asyncio.to_thread(close)
    except TransitionRefused as refusal:
        raise web.HTTPConflict(text=str(refusal)) from None
    raise web.HTTPSeeOther(f"/haendelser/{incident_id}")


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


@access.rule(access.PUBLIC)
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
        web.post("/haendelser/{incident_id}/afslut", close_submit),
    ]
