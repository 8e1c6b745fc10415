"""Inviting to the beredskabsmøde: a Graph calendar event with a Teams meeting for the parties in
Microsoft 365, and an email with an .ics invitation for mail-only parties (through the outbox).
Changes and cancellations update the same event and send the .ics again with the same UID and a
higher SEQUENCE. Answers are read back from the event; an authority with nobody coming gets its
invitees' deputies alerted."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handleplaner.clock import dansk, utcnow
from handleplaner.directory import queries as directory
from handleplaner.incidents import get_incident
from handleplaner.meetings import service as meetings
from handleplaner.meetings.models import Meeting, MeetingInvitee
from handleplaner.privacy.parties import shares_full
from handleplaner.storage import transaction

from .calendar import CalendarError, MeetingCalendar, event_body
from .channels.base import AlertMessage
from .channels.read_back import card_marker
from .models import Alert
from .outbox import enqueue_alert
from .rendering import render


def invitation_texts(session: Session, meeting: Meeting, link_base: str, *,
                     full: bool = True) -> tuple[str, str]:
    """The invitation's subject and its HTML (email/meeting.html.j2, autoescaped): the e-mail's
    body, and the text inside our block of the Outlook event's body.

    ``full=False`` is the shareable invitation for a party outside the SSP parties without a
    recorded § 115 reason (``shares_full``): the incident's type and reference instead of its
    title, and the agenda's headings without their texts."""
    from handleplaner.incidents import TYPE_LABELS

    incident = get_incident(session, meeting.incident_id)
    prefix = "ØVELSE – " if incident.exercise else ""
    state = "AFLYST: " if meeting.state == "aflyst" else ""
    title = incident.title if full else TYPE_LABELS.get(incident.incident_type,
                                                        incident.incident_type)
    subject = f"{prefix}{state}Beredskabsmøde {incident.reference}: {title}"
    agenda = meetings.agenda(session, meeting.id)
    if not full:
        agenda = [{"title": item.title, "text": ""} for item in agenda]
    html = render("email/meeting.html.j2", cancelled=meeting.state == "aflyst",
                  reference=incident.reference, title=title,
                  starts_at=dansk(meeting.starts_at), join_url=meeting.join_url or "",
                  location=meeting.location, agenda=agenda,
                  link=f"{link_base.rstrip('/')}/haendelser/{incident.id}")
    return subject, html


def shares_full_with_all(session: Session, meeting: Meeting, people) -> bool:
    """Whether every one of these invitees' parties may get the full invitation."""
    incident = get_incident(session, meeting.incident_id)
    return all(shares_full(session, incident, person) for person in people if person)


def ics_for(session: Session, meeting: Meeting, link_base: str, *, full: bool = True) -> bytes:
    from handleplaner.meetings.ics import meeting_ics

    subject, _ = invitation_texts(session, meeting, link_base, full=full)
    people = [directory.get_person(session, i.person_id) for i in meetings.invitees(session, meeting.id)]
    agenda = "\n".join(f"{a.position}. {a.title}" for a in meetings.agenda(session, meeting.id))
    cancelled = meeting.state == "aflyst"
    return meeting_ics(
        uid=meeting.uid, sequence=meeting.sequence, method="CANCEL" if cancelled else "REQUEST",
        start=meeting.starts_at, end=meeting.ends_at, summary=subject,
        description=f"Dagsorden:\n{agenda}" + (f"\nTeams: {meeting.join_url}" if meeting.join_url else ""),
        location=meeting.join_url or meeting.location, organizer_email=meeting.organizer,
        organizer_name="SSP Sekretariatet", attendees=[(p.email, p.name) for p in people if p],
        url=f"{link_base.rstrip('/')}/haendelser/{meeting.incident_id}",
        status="CANCELLED" if cancelled else "CONFIRMED")


def meeting_message(session: Session, alert: Alert, link_base: str) -> AlertMessage:
    """The email (and a plain card) for mail-only invitees, with the .ics attached."""
    spec = json.loads(alert.audience)
    meeting = session.get(Meeting, spec["meeting_id"])
    full = not spec.get("shareable")
    subject, html = invitation_texts(session, meeting, link_base, full=full)
    card = {"type": "AdaptiveCard", "version": "1.5",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "body": [{"type": "TextBlock", "text": subject, "wrap": True, "weight": "Bolder",
                      "id": card_marker(alert.id)},  # found again after a crash (read_back)
                     {"type": "TextBlock", "text": dansk(meeting.starts_at), "wrap": True}]}
    return AlertMessage(alert_id=alert.id, incident_id=alert.incident_id, subject=subject,
                        text=subject, facts=(), severity=alert.severity, exercise=alert.exercise,
                        link="", card=card, html=html,
                        attachments=(("invitation.ics", "text/calendar; method="
                                      + ("CANCEL" if meeting.state == "aflyst" else "REQUEST"),
                                      ics_for(session, meeting, link_base, full=full)),))


async def send_invitations(engine: Engine, calendar: MeetingCalendar, link_base: str,
                           meeting_id: int) -> None:
    """Create, update or cancel the calendar event, then queue the .ics emails."""
    with Session(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        rows = meetings.invitees(session, meeting_id)
        people = {r.person_id: directory.get_person(session, r.person_id) for r in rows}
        # One event for everyone in Microsoft 365: the shareable text if any of them may not
        # get the full one.
        full = shares_full_with_all(session, meeting,
                                    [people[r.person_id] for r in rows if r.by_calendar])
        subject, html = invitation_texts(session, meeting, link_base, full=full)
        attendees = [(people[r.person_id].email, people[r.person_id].name)
                     for r in rows if r.by_calendar]
        event = event_body(subject=subject, html=html, starts_at=meeting.starts_at,
                           ends_at=meeting.ends_at, online=meeting.online,
                           location=meeting.location, attendees=attendees,
                           transaction_id=meeting.uid)
    if meeting.graph_event_id is None and meeting.state == "indkaldt":
        event_id, join = await calendar.create(event)
        with transaction(engine) as session:
            stored = session.get(Meeting, meeting_id)
            stored.graph_event_id, stored.join_url = event_id, join
            session.add(stored)
    elif meeting.state == "aflyst" and meeting.graph_event_id:
        await calendar.cancel(meeting.graph_event_id)
    elif meeting.graph_event_id:
        await calendar.update(meeting.graph_event_id, event)
    with transaction(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        incident = get_incident(session, meeting.incident_id)
        mail_only = [people[r.person_id] for r in rows if not r.by_calendar]
        full = [p for p in mail_only if shares_full(session, incident, p)]
        shareable = [p for p in mail_only if p not in full]
        for audience, suffix, spec in ((full, "", {}),
                                       (shareable, ":delbar", {"shareable": True})):
            if audience:
                enqueue_alert(session, incident_id=incident.id, kind="moede", severity="varsling",
                              exercise=incident.exercise, title="Indkaldelse til beredskabsmøde",
                              body=dansk(meeting.starts_at), audience=audience, actor_id="system",
                              dedupe_key=f"moede:{meeting.id}:{meeting.sequence}{suffix}",
                              all_channels=False,
                              audience_spec=json.dumps({"meeting_id": meeting.id,
                                                        "sequence": meeting.sequence, **spec}))


async def sync_responses(engine: Engine, calendar: MeetingCalendar, meeting_id: int,
                         now: datetime | None = None) -> list[str]:
    """Read the answers from the event; alert the deputies of an authority with nobody coming.
    Returns the authorities not represented."""
    moment = now or utcnow()
    with Session(engine) as session:
        meeting = session.get(Meeting, meeting_id)
    if not meeting.graph_event_id:
        return []
    try:
        answers = await calendar.responses(meeting.graph_event_id)
    except CalendarError:
        return []
    with transaction(engine) as session:
        for row in meetings.invitees(session, meeting_id):
            person = directory.get_person(session, row.person_id)
            answer = answers.get(person.email.lower())
            if row.by_calendar and answer and answer != row.response:
                meetings.record_response(session, meeting_id=meeting_id, person_id=row.person_id,
                                         response=answer, actor_id=row.person_id, now=moment)
    return await alert_missing_authorities(engine, meeting_id, moment)


async def alert_missing_authorities(engine: Engine, meeting_id: int,
                                    now: datetime | None = None) -> list[str]:
    moment = now or utcnow()
    missing = []
    with transaction(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        incident = get_incident(session, meeting.incident_id)
        for authority in meetings.attendance(session, meeting_id):
            if not authority.nobody_coming:
                continue
            missing.append(authority.authority)
            deputies = {}
            for row in session.exec(select(MeetingInvitee).where(
                    MeetingInvitee.meeting_id == meeting_id,
                    MeetingInvitee.authority_code == authority.authority)):
                deputy = directory.deputy_of(session, row.person_id)
                if deputy is not None:
                    deputies[deputy.id] = deputy
            if deputies:
                enqueue_alert(
                    session, incident_id=incident.id, kind="besked", severity=incident.severity,
                    exercise=incident.exercise,
                    title=f"{authority.authority} er ikke repræsenteret på beredskabsmødet",
                    body=(f"Ingen fra {authority.name} deltager i beredskabsmødet "
                          f"{dansk(meeting.starts_at)} ({incident.reference}). Du er suppleant: "
                          f"deltag, eller find en anden fra {authority.authority}. "
                          + (f"Teams: {meeting.join_url}" if meeting.join_url else meeting.location)),
                    audience=list(deputies.values()), actor_id="system",
                    dedupe_key=f"moede:{meeting_id}:afbud:{authority.authority}", now=moment,
                    all_channels=True)
    return missing
