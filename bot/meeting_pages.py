"""The beredskabsmøde on the web: call it from the incident, follow the answers per authority,
write the beslutningsreferat and move its measures to the plan."""
from __future__ import annotations

import asyncio

from aiohttp import web
from sqlmodel import Session, select

from handleplaner.clock import dansk, local, utcnow
from handleplaner.directory import queries as directory
from handleplaner.meetings import service as meetings
from handleplaner.meetings.models import MEETING_STATES, RESPONSES, Meeting
from handleplaner.plans.measures import MEASURE_TYPES
from handleplaner.plans.service import PlanInvalid, PlanRefused
from handleplaner.storage import transaction
from notifications.calendar import CalendarError
from notifications.meeting_invites import send_invitations, sync_responses

from . import access
from .form_errors import blank_means_missing
from .keys import SERVICES
from .pages import _form, engine, page
from .request_input import MOMENT_ERROR, parse_moment, whole_id


def _meeting_of(session: Session, incident_id: int) -> Meeting | None:
    return session.exec(select(Meeting).where(Meeting.incident_id == incident_id)
                        .order_by(Meeting.id.desc())).first()


LABELS = {"starts_at": "Tidspunkt", "duration_minutes": "Varighed", "online": "Online",
          "location": "Mødested", "reason": "Begrundelse", "agenda_position": "Punkt",
          "text": "Beslutning", "measure_type": "Type", "authority": "Myndighed",
          "m_starts_at": "Fra", "m_ends_at": "Til",
          **{f"ekstern_{i}": f"Ekstern part {i + 1}" for i in range(3)},
          **{f"grund_{i}": f"Begrundelse for ekstern part {i + 1}" for i in range(3)}}


REQUIRED = {"indkald": ("starts_at", "duration_minutes"), "flyt": ("starts_at",),
            "beslutning": ("agenda_position", "text")}


def form_values(form) -> dict:
    """Everything entered, the repeated selects of external parties as a list."""
    values = {name: form.get(name, "") for name in form.keys() if name != "csrf"}
    values["ekstern"] = list(form.getall("ekstern", []))
    return values


def _view(request, session, person, incident, *, errors=None, status=200, notice="",
          values=None, failed=""):
    """The meeting page. After a rejected form, ``failed`` names it (its "handling"): it shows
    ``values`` as entered and ``errors`` by its fields (ids "<handling>-<field>")."""
    meeting = _meeting_of(session, incident.id)
    errors = errors or {}
    fields = {name: (f"{failed}-{name}", label) for name, label in LABELS.items()}
    externals = [p for p in directory.list_people(session)
                 if p.authority_code not in ("BUF", "SOF", "KFF", "BIF", "POL", "SSP")]
    context = dict(person=person, incident=incident, meeting=meeting, errors=errors,
                   fields=fields, values=values or {}, failed=failed, notice=notice, dansk=dansk, MEETING_STATES=MEETING_STATES, RESPONSES=RESPONSES,
                   MEASURE_TYPES=MEASURE_TYPES, externals=externals,
                   authorities=directory.authorities(session),
                   suggested=local(meetings.suggest_time(incident.severity, utcnow()))
                   .strftime("%Y-%m-%dT%H:%M"),
                   people={p.id: p for p in directory.list_people(session)})
    if meeting is not None:
        context.update(attendance=meetings.attendance(session, meeting.id),
                       invitees=meetings.invitees(session, meeting.id),
                       agenda=meetings.agenda(session, meeting.id))
    return page(request, "meeting.html.j2", status=status, **context)


@access.rule(access.incident())
async def meeting_page(request: web.Request) -> web.Response:
    person, incident = access.caller(request).person, access.named_incident(request)
    with Session(engine(request)) as session:
        return _view(request, session, person, incident,
                     notice=request.query.get("besked", ""))


@access.rule(access.incident())
async def meeting_submit(request: web.Request) -> web.Response:
    form = await _form(request)
    services = request.app[SERVICES]
    action = form.get("handling", "")
    person, incident = access.caller(request).person, access.named_incident(request)
    with Session(services.engine) as session:
        current = _meeting_of(session, incident.id)
    chosen = [i for i, pid in enumerate(form.getall("ekstern", [])) if pid]  # select positions

    def whole(name: str, default: int, message: str) -> int:
        text = (form.get(name) or "").strip()
        if not text:
            return default
        number = whole_id(text) if text != "0" else 0
        if number is None or number > 100_000:
            raise meetings.MeetingInvalid({name: message})
        return number

    def moment(name: str, required: bool):
        text = (form.get(name) or "").strip()
        if not text and not required:
            return None
        found = parse_moment(text)
        if found is None:
            raise meetings.MeetingInvalid({name: MOMENT_ERROR})
        return found

    def run():
        with transaction(services.engine) as session:
            if action == "indkald":
                externals = [{"person_id": pid, "reason": form.get(f"grund_{i}", "")}
                             for i, pid in enumerate(form.getall("ekstern", [])) if pid]
                starts = moment("starts_at", required=False)
                data = {"starts_at": starts.isoformat() if starts else None,
                        "duration_minutes": whole("duration_minutes", 60,
                                                  "skal være et helt antal minutter"),
                        "online": form.get("online") == "ja", "location": form.get("location", ""),
                        "externals": externals}
                return meetings.call_meeting(session, incident_id=incident.id, actor_id=person.id,
                                             data=data, organizer=services.settings.sender_mailbox).id, True
            if current is None:
                raise meetings.MeetingInvalid({"meeting": "der er intet møde"})
            if action == "flyt":
                starts = moment("starts_at", required=True)
                return meetings.change_meeting(session, meeting_id=current.id, actor_id=person.id,
                                               starts_at=starts).id, True
            if action == "aflys":
                return meetings.cancel_meeting(session, meeting_id=current.id, actor_id=person.id,
                                               reason=form.get("reason", "") or "ikke angivet").id, True
            if action == "beslutning":
                measure = None
                if form.get("measure_type"):
                    measure = {"measure_type": form.get("measure_type"),
                               "authority": form.get("authority"),
                               "starts_at": form.get("m_starts_at"), "ends_at": form.get("m_ends_at")}
                meetings.add_decision(session, meeting_id=current.id, actor_id=person.id,
                                      agenda_position=whole("agenda_position", 0,
                                                            "vælg et punkt på dagsordenen"),
                                      text=form.get("text", ""), measure=measure)
                return current.id, False
            if action == "referat":
                meetings._require_secretariat(session, person.id)
                meetings.minutes_to_plan(session, meeting_id=current.id, actor_id=person.id)
                return current.id, False
            if action == "svar":
                return current.id, False
            raise meetings.MeetingInvalid({"handling": "ukendt handling"})

    try:
        meeting_id, invite = await asyncio.to_thread(run)
    except (meetings.MeetingRefused, PlanRefused) as error:
        with Session(services.engine) as session:
            return _view(request, session, person, incident, errors={"_": str(error)}, status=403,
                         values=form_values(form), failed=action)
    except (meetings.MeetingInvalid, PlanInvalid, ValueError) as error:
        errors = blank_means_missing(_by_field(getattr(error, "errors", None) or {"_": str(error)},
                                               chosen), form, REQUIRED.get(action, ()))
        with Session(services.engine) as session:
            return _view(request, session, person, incident, errors=errors,
                         status=422, values=form_values(form), failed=action)
    notice = ""
    try:
        if invite:
            await send_invitations(services.engine, services.calendar, services.settings.public_url,
                                   meeting_id)
        if action == "svar":
            await sync_responses(services.engine, services.calendar, meeting_id)
    except CalendarError as error:
        notice = f"Kalenderen kunne ikke opdateres: {error}"
    services.worker.wakeup.set()
    from urllib.parse import quote

    raise web.HTTPSeeOther(f"/haendelser/{incident.id}/moede"
                           + (f"?besked={quote(notice)}" if notice else ""))


def _by_field(errors: dict, chosen: list[int]) -> dict:
    """The service names external parties by their place in the list it got ("externals[0]");
    the form by the select they were chosen in ("ekstern_2", "grund_2")."""
    named = {}
    for key, message in errors.items():
        if key.startswith("externals[") and "]." in key:
            index, _, field = key[len("externals["):].partition("].")
            try:
                position = chosen[int(index)]
            except (ValueError, IndexError):
                named[key] = message
                continue
            named[f"{'grund' if field == 'reason' else 'ekstern'}_{position}"] = message
        else:
            named[key] = message
    return named


def routes() -> list[web.RouteDef]:
    return [web.get("/haendelser/{incident_id}/moede", meeting_page),
            web.post("/haendelser/{incident_id}/moede", meeting_submit)]
