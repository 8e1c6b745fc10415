"""JSON API for the beredskabsmøde: call, change, cancel, answers, attendance, minutes."""
from __future__ import annotations


from aiohttp import web
from sqlmodel import Session, select

from handleplaner.clock import iso_utc
from handleplaner.meetings import service as meetings
from handleplaner.meetings.models import MEETING_STATES, Meeting
from handleplaner.plans.service import PlanInvalid, PlanRefused
from notifications.calendar import CalendarError
from notifications.meeting_invites import (alert_missing_authorities, ics_for, send_invitations,
                                           sync_responses)

from . import access
from .api import in_transaction, named_row, ok, problem
from .keys import SERVICES
from .request_input import Fields, json_object, path_id


def meeting_json(session: Session, meeting: Meeting) -> dict:
    return {"id": meeting.id, "incident_id": meeting.incident_id, "state": meeting.state,
            "state_label": MEETING_STATES[meeting.state], "starts_at": iso_utc(meeting.starts_at),
            "ends_at": iso_utc(meeting.ends_at), "online": meeting.online,
            "location": meeting.location, "join_url": meeting.join_url, "uid": meeting.uid,
            "sequence": meeting.sequence,
            "invitees": [{"person_id": i.person_id, "authority": i.authority_code,
                          "external": i.external, "reason": i.reason,
                          "by_calendar": i.by_calendar, "response": i.response}
                         for i in meetings.invitees(session, meeting.id)],
            "attendance": [a.as_json() for a in meetings.attendance(session, meeting.id)],
            "agenda": [{"position": a.position, "title": a.title, "text": a.text}
                       for a in meetings.agenda(session, meeting.id)]}


def _meeting(request: web.Request, session: Session) -> Meeting:
    """The meeting the path names; the guard has resolved its incident and let the caller in."""
    meeting = session.get(Meeting, path_id(request, "meeting_id", "Mødet findes ikke."))
    return named_row(request, meeting, "Mødet findes ikke.")


async def _run(request: web.Request, work, *, status: int = 200, invite: bool = False):
    services = request.app[SERVICES]
    try:
        meeting_id = await in_transaction(request, work)
    except (meetings.MeetingRefused, PlanRefused) as error:
        return problem(403, str(error))
    except (meetings.MeetingInvalid, PlanInvalid) as error:
        return problem(422, "Ikke gemt: forespørgslen har fejl.", error.errors)
    calendar_error = None
    if invite:
        try:
            await send_invitations(services.engine, services.calendar, services.settings.public_url,
                                   meeting_id)
        except CalendarError as error:
            calendar_error = str(error)
    services.worker.wakeup.set()
    with Session(services.engine) as session:
        body = meeting_json(session, session.get(Meeting, meeting_id))
    if calendar_error:
        body["kalenderfejl"] = calendar_error
    return ok(body, status=status)


def _meeting_call(data: dict) -> dict:
    """The call's fields, each of its type (the domain checks what they mean)."""
    fields = Fields(data)
    starts = fields.moment("starts_at")
    called = {"starts_at": starts.isoformat() if starts else None,
              "duration_minutes": fields.whole("duration_minutes", 15, 480, 60),
              "online": fields.flag("online", True), "location": fields.text("location", longest=200),
              "externals": fields.objects("externals")}
    for index, external in enumerate(called["externals"]):
        item = Fields(external)
        item.text("person_id", longest=100)
        item.text("reason")
        fields.errors.update({f"externals[{index}].{name}": message
                              for name, message in item.errors.items()})
    fields.check()
    return {**data, **called}


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def call(request: web.Request) -> web.Response:
    data = _meeting_call(await json_object(request))

    def work(session, person):
        incident = access.named_incident(request)
        return meetings.call_meeting(session, incident_id=incident.id, actor_id=person.id,
                                     data=data,
                                     organizer=request.app[SERVICES].settings.sender_mailbox).id

    return await _run(request, work, status=201, invite=True)


@access.rule(access.incident())
async def list_meetings(request: web.Request) -> web.Response:
    incident = access.named_incident(request)
    with Session(request.app[SERVICES].engine) as session:
        rows = session.exec(select(Meeting).where(Meeting.incident_id == incident.id)
                            .order_by(Meeting.id))
        return ok([meeting_json(session, m) for m in rows])


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def change(request: web.Request) -> web.Response:
    fields = Fields(await json_object(request))
    starts = fields.moment("starts_at")
    location = fields.text("location", default=None, longest=200)
    fields.check()

    def work(session, person):
        meeting = _meeting(request, session)
        return meetings.change_meeting(session, meeting_id=meeting.id, actor_id=person.id,
                                       starts_at=starts, location=location).id

    return await _run(request, work, invite=True)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def cancel(request: web.Request) -> web.Response:
    fields = Fields(await json_object(request))
    reason = fields.text("reason")
    fields.check()

    def work(session, person):
        meeting = _meeting(request, session)
        return meetings.cancel_meeting(session, meeting_id=meeting.id, actor_id=person.id,
                                       reason=reason or "ikke angivet").id

    return await _run(request, work, invite=True)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def respond(request: web.Request) -> web.Response:
    """The secretariat records an answer given by phone or mail (mail-only parties)."""
    fields = Fields(await json_object(request))
    person_id, answer = fields.text("person_id", longest=100), fields.text("response", longest=40)
    fields.check()

    def work(session, person):
        meeting = _meeting(request, session)
        meetings._require_secretariat(session, person.id)
        meetings.record_response(session, meeting_id=meeting.id, person_id=person_id,
                                 response=answer, actor_id=person.id)
        return meeting.id

    response = await _run(request, work)
    if response.status == 200:
        await alert_missing_authorities(request.app[SERVICES].engine,
                                        path_id(request, "meeting_id", "Mødet findes ikke."))
        request.app[SERVICES].worker.wakeup.set()
    return response


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def sync(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    with Session(services.engine) as session:
        meeting = _meeting(request, session)
    missing = await sync_responses(services.engine, services.calendar, meeting.id)
    services.worker.wakeup.set()
    with Session(services.engine) as session:
        body = meeting_json(session, session.get(Meeting, meeting.id))
    body["not_represented"] = missing
    return ok(body)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def decide(request: web.Request) -> web.Response:
    fields = Fields(await json_object(request))
    position = fields.whole("agenda_position", 0, 1000, 0)
    text, measure = fields.text("text"), fields.object("measure")
    fields.check()

    def work(session, person):
        meeting = _meeting(request, session)
        meetings.add_decision(session, meeting_id=meeting.id, actor_id=person.id,
                              agenda_position=position, text=text, measure=measure)
        return meeting.id

    return await _run(request, work, status=201)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def apply_minutes(request: web.Request) -> web.Response:
    def work(session, person):
        meeting = _meeting(request, session)
        meetings._require_secretariat(session, person.id)
        meetings.minutes_to_plan(session, meeting_id=meeting.id, actor_id=person.id)
        return meeting.id

    return await _run(request, work)


@access.rule(access.incident())
async def invitation(request: web.Request) -> web.Response:
    with Session(request.app[SERVICES].engine) as session:
        meeting = _meeting(request, session)
        body = ics_for(session, meeting, request.app[SERVICES].settings.public_url)
    return web.Response(body=body, content_type="text/calendar",
                        headers={"Content-Disposition": 'attachment; filename="invitation.ics"'})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/incidents/{incident_id}/meetings", call),
        web.get("/api/incidents/{incident_id}/meetings", list_meetings),
        web.post("/api/meetings/{meeting_id}/change", change),
        web.post("/api/meetings/{meeting_id}/cancel", cancel),
        web.post("/api/meetings/{meeting_id}/responses", respond),
        web.post("/api/meetings/{meeting_id}/responses/sync", sync),
        web.post("/api/meetings/{meeting_id}/decisions", decide),
        web.post("/api/meetings/{meeting_id}/minutes/apply", apply_minutes),
        web.get("/api/meetings/{meeting_id}/invitation.ics", invitation),
    ]
