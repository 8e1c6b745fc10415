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

from .keys import SERVICES
from .pages import _form, _signed_in, engine, page
from .plan_pages import _incident


def _meeting_of(session: Session, incident_id: int) -> Meeting | None:
    return session.exec(select(Meeting).where(Meeting.incident_id == incident_id)
                        .order_by(Meeting.id.desc())).first()


def _view(request, session, person, incident, *, errors=None, status=200, notice=""):
    meeting = _meeting_of(session, incident.id)
    externals = [p for p in directory.list_people(session)
                 if p.authority_code not in ("BUF", "SOF", "KFF", "BIF", "POL", "SSP")]
    context = dict(person=person, incident=incident, meeting=meeting, errors=errors or {},
                   notice=notice, dansk=dansk, MEETING_STATES=MEETING_STATES, RESPONSES=RESPONSES,
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


async def meeting_page(request: web.Request) -> web.Response:
    with Session(engine(request)) as session:
        person = _signed_in(request, session)
        return _view(request, session, person, _incident(request, session, person),
                     notice=request.query.get("besked", ""))


async def meeting_submit(request: web.Request) -> web.Response:
    form = await _form(request)
    services = request.app[SERVICES]
    action = form.get("handling", "")
    with Session(services.engine) as session:
        person = _signed_in(request, session)
        incident = _incident(request, session, person)
        current = _meeting_of(session, incident.id)

    def run():
        from datetime import datetime

        with transaction(services.engine) as session:
            if action == "indkald":
                externals = [{"person_id": pid, "reason": form.get(f"grund_{i}", "")}
                             for i, pid in enumerate(form.getall("ekstern", [])) if pid]
                data = {"starts_at": form.get("starts_at") or None,
                        "duration_minutes": int(form.get("duration_minutes") or 60),
                        "online": form.get("online") == "ja", "location": form.get("location", ""),
                        "externals": externals}
                return meetings.call_meeting(session, incident_id=incident.id, actor_id=person.id,
                                             data=data, organizer=services.settings.sender_mailbox).id, True
            if current is None:
                raise meetings.MeetingInvalid({"meeting": "der er intet møde"})
            if action == "flyt":
                try:
                    starts = datetime.fromisoformat(form.get("starts_at", ""))
                except ValueError:
                    raise meetings.MeetingInvalid({"starts_at": "er ikke et gyldigt tidspunkt"}) from None
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
                                      agenda_position=int(form.get("agenda_position") or 0),
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
            return _view(request, session, person, incident, errors={"_": str(error)}, status=403)
    except (meetings.MeetingInvalid, PlanInvalid, ValueError) as error:
        with Session(services.engine) as session:
            return _view(request, session, person, incident,
                         errors=getattr(error, "errors", None) or {"_": str(error)}, status=422)
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


def routes() -> list[web.RouteDef]:
    return [web.get("/haendelser/{incident_id}/moede", meeting_page),
            web.post("/haendelser/{incident_id}/moede", meeting_submit)]
