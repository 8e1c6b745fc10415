"""Calling the beredskabsmøde, following the answers per authority, the agenda and the minutes.

The fixed parties for the affected areas are proposed from the directory; external parties are
added by choice, each with a recorded reason. Every step goes into the incident's record. The
caller sends the invitations (Graph calendar event, or email with an .ics file) after commit.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Mapping

from sqlmodel import Session, select

from .. import record
from ..clock import COPENHAGEN, dansk, to_utc, utcnow
from ..directory import queries as directory
from ..directory.models import Authority
from ..incidents import TYPE_LABELS, get_incident, lock_incident
from ..incidents.states import TransitionRefused, transition
from .models import RESPONSES, AgendaItem, Meeting, MeetingInvitee, MinuteDecision

AKUT_WITHIN = timedelta(hours=4)  # domain.md decision: meeting within 4 hours for Akut
WORKDAY = (time(8, 0), time(16, 0))


class MeetingRefused(Exception):
    pass


class MeetingInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def suggest_time(severity: str, now: datetime) -> datetime:
    """Akut: at once (the next quarter hour, 30 minutes to gather). Otherwise the next working
    day at 9:00, Copenhagen time."""
    if severity == "akut":
        start = now + timedelta(minutes=30)
        return start.replace(minute=(start.minute // 15) * 15, second=0, microsecond=0)
    local = now.astimezone(COPENHAGEN) + timedelta(days=1)
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return to_utc(local.replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None))


def proposed_invitees(session: Session, incident_id: int) -> list:
    """The fixed parties for the affected areas: the ledergrupper's leaders and the secretariat."""
    from ..incidents import incident_areas

    people = {p.id: p for p in directory.ledergruppe_leaders_for_areas(
        session, incident_areas(session, incident_id))}
    for p in directory.secretariat_members(session):
        people.setdefault(p.id, p)
    return sorted(people.values(), key=lambda p: (p.authority_code, p.name))


def agenda_for(session: Session, incident) -> list[tuple[str, str]]:
    """The agenda from the incident type's plan template: its measures per authority, its
    communication plan and its period are the proposals the meeting decides on."""
    from ..plans.service import incident_facts
    from ..plans.templates import (PlanTemplateError, load_plan_templates, render_plan_template,
                                   templates_for_incident_type)

    type_label = TYPE_LABELS.get(incident.incident_type, incident.incident_type)
    try:
        fitting = templates_for_incident_type(load_plan_templates(), incident.incident_type)
    except PlanTemplateError:
        fitting = []
    template = None
    if fitting:
        try:
            template = render_plan_template(fitting[0], incident_facts(
                session, incident, fitting[0].default_period_days))
        except PlanTemplateError:
            template = None
    measures = "Hvad gør BUF, SOF, KFF, BIF, Politiet og SSP? Ansvarlige og tidsrum."
    communication = ("Hvem får hvad at vide og hvornår: styregruppen, politisk niveau, "
                     "Team Sikker By, forældre, presse.")
    period = "Hvor længe gælder handleplanen, og hvornår evalueres den?"
    if template is not None:
        per_authority: dict[str, list[str]] = defaultdict(list)
        for m in template.measures:
            per_authority[m.authority].append(m.title)
        measures = "Forslag fra skabelonen '" + fitting[0].name + "': " + "; ".join(
            f"{a}: {', '.join(titles)}" for a, titles in sorted(per_authority.items()))
        communication = "Forslag: " + "; ".join(c.audience for c in template.communication)
        period = (f"Skabelonens forslag: {template.default_period_days} dage, evaluering efter "
                  f"{template.evaluation_offset_days} dage.")
    return [
        ("Situationsbillede", f"{type_label}: {incident.title}. Hvad ved parterne nu?"),
        ("Indsatser pr. myndighed", measures),
        ("Kommunikation", communication),
        ("Periode", period),
        ("Næste møde", "Tidspunkt for opfølgning."),
    ]


def _require_secretariat(session: Session, actor_id: str) -> None:
    if not directory.is_secretariat(session, actor_id):
        raise MeetingRefused("Kun SSP Sekretariatet indkalder til beredskabsmøde.")


def call_meeting(session: Session, *, incident_id: int, actor_id: str, data: Mapping,
                 organizer: str, now: datetime | None = None) -> Meeting:
    moment = now or utcnow()
    _require_secretariat(session, actor_id)
    incident = lock_incident(session, incident_id)
    if incident is None:
        raise MeetingInvalid({"incident": "hændelsen findes ikke"})
    errors: dict[str, str] = {}
    try:
        starts = to_utc(datetime.fromisoformat(str(data["starts_at"]))) if data.get("starts_at") \
            else suggest_time(incident.severity, moment)
    except ValueError:
        errors["starts_at"] = "er ikke et gyldigt tidspunkt"
        starts = moment
    minutes = data.get("duration_minutes", 60)
    if not isinstance(minutes, int) or not 15 <= minutes <= 480:
        errors["duration_minutes"] = "skal være mellem 15 og 480 minutter"
        minutes = 60
    if starts < moment - timedelta(minutes=5):
        errors.setdefault("starts_at", "mødet kan ikke ligge i fortiden")
    online = bool(data.get("online", True))
    location = str(data.get("location") or "").strip()
    if not online and not location:
        errors["location"] = "angiv et mødested, eller vælg online (Teams)"
    externals = data.get("externals") or []
    chosen = []
    for index, item in enumerate(externals if isinstance(externals, list) else []):
        person = directory.get_person(session, str((item or {}).get("person_id", "")))
        reason = str((item or {}).get("reason", "")).strip()
        if person is None or not person.active:
            errors[f"externals[{index}].person_id"] = "ukendt person"
        elif not reason:
            errors[f"externals[{index}].reason"] = "en ekstern part inviteres efter en konkret " \
                                                   "vurdering: skriv begrundelsen"
        else:
            chosen.append((person, reason))
    if not isinstance(externals, list):
        errors["externals"] = "skal være en liste"
    if errors:
        raise MeetingInvalid(errors)
    meeting = Meeting(incident_id=incident_id, starts_at=starts,
                      ends_at=starts + timedelta(minutes=minutes), online=online,
                      location=location or "Microsoft Teams", uid=f"{uuid.uuid4()}@ssp-beredskab",
                      organizer=organizer, created_by=actor_id, created_at=moment)
    session.add(meeting)
    session.flush()
    fixed = proposed_invitees(session, incident_id)
    for person in fixed:
        session.add(MeetingInvitee(meeting_id=meeting.id, person_id=person.id,
                                   authority_code=person.authority_code,
                                   by_calendar=bool(person.teams_user_id)))
    for person, reason in chosen:
        if person.id in {p.id for p in fixed}:
            continue
        session.add(MeetingInvitee(meeting_id=meeting.id, person_id=person.id,
                                   authority_code=person.authority_code, external=True,
                                   reason=reason, by_calendar=bool(person.teams_user_id)))
    for position, (title, text) in enumerate(agenda_for(session, incident), start=1):
        session.add(AgendaItem(meeting_id=meeting.id, position=position, title=title, text=text))
    try:
        incident.state = transition(incident.state, "indkald_moede")
        session.add(incident)
    except TransitionRefused:
        pass
    record.append(session, incident_id=incident_id, actor_id=actor_id, action="moede.indkaldt",
                  at=moment,
                  summary=(f"Beredskabsmøde indkaldt til {dansk(starts)} "
                           f"({'Teams' if online else '{sted}'}); {len(fixed)} faste parter"
                           + (f", {len(chosen)} eksterne" if chosen else "")),
                  data={"meeting_id": meeting.id, "starts_at": starts.isoformat(),
                        # the reasons are personal data, kept on the invitees only
                        "externals": [{"person_id": p.id} for p, _ in chosen]},
                  detail=None if online else {"sted": location})
    session.flush()
    return meeting


def change_meeting(session: Session, *, meeting_id: int, actor_id: str, starts_at: datetime | None = None,
                   duration_minutes: int | None = None, location: str | None = None,
                   now: datetime | None = None) -> Meeting:
    moment = now or utcnow()
    _require_secretariat(session, actor_id)
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.state != "indkaldt":
        raise MeetingRefused("Mødet kan ikke ændres.")
    lock_incident(session, meeting.incident_id)
    if starts_at is not None:
        length = meeting.ends_at - meeting.starts_at
        meeting.starts_at = to_utc(starts_at)
        meeting.ends_at = meeting.starts_at + (timedelta(minutes=duration_minutes)
                                               if duration_minutes else length)
    if location is not None:
        meeting.location = location
    meeting.sequence += 1
    session.add(meeting)
    record.append(session, incident_id=meeting.incident_id, actor_id=actor_id,
                  action="moede.aendret", at=moment,
                  summary=f"Beredskabsmødet flyttet til {dansk(meeting.starts_at)} ({{sted}})",
                  data={"meeting_id": meeting.id, "sequence": meeting.sequence},
                  detail={"sted": meeting.location})
    return meeting


def cancel_meeting(session: Session, *, meeting_id: int, actor_id: str, reason: str,
                   now: datetime | None = None) -> Meeting:
    moment = now or utcnow()
    _require_secretariat(session, actor_id)
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.state != "indkaldt":
        raise MeetingRefused("Mødet kan ikke aflyses.")
    lock_incident(session, meeting.incident_id)
    meeting.state = "aflyst"
    meeting.sequence += 1
    session.add(meeting)
    record.append(session, incident_id=meeting.incident_id, actor_id=actor_id,
                  action="moede.aflyst", at=moment, summary="Beredskabsmødet aflyst: {begrundelse}",
                  data={"meeting_id": meeting.id}, detail={"begrundelse": reason})
    return meeting


def invitees(session: Session, meeting_id: int) -> list[MeetingInvitee]:
    return list(session.exec(select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting_id)
                             .order_by(MeetingInvitee.authority_code, MeetingInvitee.id)))


def record_response(session: Session, *, meeting_id: int, person_id: str, response: str,
                    actor_id: str, now: datetime | None = None) -> bool:
    """Returns True if the answer changed."""
    if response not in RESPONSES:
        raise MeetingInvalid({"response": "ukendt svar"})
    moment = now or utcnow()
    row = session.exec(select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting_id,
                                                    MeetingInvitee.person_id == person_id)).first()
    if row is None:
        raise MeetingInvalid({"person_id": "personen er ikke inviteret"})
    if row.response == response:
        return False
    meeting = session.get(Meeting, meeting_id)
    lock_incident(session, meeting.incident_id)
    row.response, row.responded_at = response, moment
    session.add(row)
    person = directory.get_person(session, person_id)
    record.append(session, incident_id=meeting.incident_id, actor_id=actor_id,
                  action="moede.svar", at=moment,
                  summary=f"{person.name} ({row.authority_code}): {RESPONSES[response].lower()}",
                  data={"meeting_id": meeting_id, "person_id": person_id, "response": response})
    return True


@dataclass
class AuthorityAttendance:
    authority: str
    name: str
    invited: list[str]
    accepted: list[str]
    declined: list[str]
    pending: list[str]

    @property
    def represented(self) -> bool:
        return bool(self.accepted)

    @property
    def nobody_coming(self) -> bool:
        return bool(self.invited) and len(self.declined) == len(self.invited)

    def as_json(self) -> dict:
        return {"authority": self.authority, "name": self.name, "invited": self.invited,
                "accepted": self.accepted, "declined": self.declined, "pending": self.pending,
                "represented": self.represented, "nobody_coming": self.nobody_coming}


def attendance(session: Session, meeting_id: int) -> list[AuthorityAttendance]:
    names = {a.code: a.name for a in session.exec(select(Authority))}
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in invitees(session, meeting_id):
        person = directory.get_person(session, row.person_id)
        grouped[row.authority_code]["invited"].append(person.name)
        key = {"accepted": "accepted", "declined": "declined"}.get(row.response, "pending")
        grouped[row.authority_code][key].append(person.name)
    return [AuthorityAttendance(authority=code, name=names.get(code, code),
                                invited=g["invited"], accepted=g["accepted"],
                                declined=g["declined"], pending=g["pending"])
            for code, g in sorted(grouped.items())]


def agenda(session: Session, meeting_id: int) -> list[AgendaItem]:
    return list(session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                             .order_by(AgendaItem.position)))


def add_decision(session: Session, *, meeting_id: int, agenda_position: int, actor_id: str,
                 text: str, measure: Mapping | None = None,
                 now: datetime | None = None) -> MinuteDecision:
    moment = now or utcnow()
    _require_secretariat(session, actor_id)
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingInvalid({"meeting": "mødet findes ikke"})
    item = session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id,
                                                 AgendaItem.position == agenda_position)).first()
    if item is None:
        raise MeetingInvalid({"agenda_position": "punktet findes ikke på dagsordenen"})
    if not text or not text.strip() or len(text) > 4000:
        raise MeetingInvalid({"text": "skriv beslutningen (højst 4000 tegn)"})
    lock_incident(session, meeting.incident_id)
    decision = MinuteDecision(meeting_id=meeting_id, agenda_item_id=item.id, text=text.strip(),
                              measure=json.dumps(dict(measure or {}), ensure_ascii=False,
                                                 default=str) if measure else "",
                              created_by=actor_id, at=moment)
    session.add(decision)
    session.flush()
    record.append(session, incident_id=meeting.incident_id, actor_id=actor_id,
                  action="moede.beslutning", at=moment,
                  summary="Beslutning under '{punkt}' skrevet i referatet",
                  data={"meeting_id": meeting_id, "decision_id": decision.id,
                        "measure": bool(measure)},
                  detail={"punkt": item.title})
    return decision


def minutes_to_plan(session: Session, *, meeting_id: int, actor_id: str,
                    now: datetime | None = None) -> list[str]:
    """Decisions with a measure become measures of the draft plan (drafted from the incident
    type's template if there is none yet). Returns the new measures' keys."""
    from ..plans import service as plans
    from ..plans.measures import MEASURE_TYPES
    from ..plans.templates import load_plan_templates, templates_for_incident_type

    moment = now or utcnow()
    meeting = session.get(Meeting, meeting_id)
    incident = get_incident(session, meeting.incident_id)
    plan = plans.plan_of_incident(session, incident.id)
    if plan is None:
        fitting = templates_for_incident_type(load_plan_templates(), incident.incident_type)
        if not fitting:
            raise MeetingInvalid({"plan": "ingen skabelon passer til hændelsen; udarbejd planen først"})
        plan = plans.draft_plan(session, incident_id=incident.id, actor_id=actor_id,
                                template_code=fitting[0].code, now=moment)
    keys = []
    for decision in session.exec(select(MinuteDecision).where(
            MinuteDecision.meeting_id == meeting_id, MinuteDecision.plan_measure_key.is_(None))):
        if not decision.measure:
            continue
        data = json.loads(decision.measure)
        # The decision's text may name young people: it goes into the measure's notes (marked
        # as personal data, so retention finds it), not into its title, which alerts and the
        # record repeat.
        data.setdefault("title", MEASURE_TYPES.get(str(data.get("measure_type")), "Indsats"))
        data.setdefault("notes", (f"Besluttet på beredskabsmødet {dansk(meeting.starts_at)}: "
                                  f"{decision.text}")[:plans.NOTES_MAX])
        measure = plans.add_measure(session, plan_id=plan.id, actor_id=actor_id, data=data,
                                    now=moment)
        decision.plan_measure_key = measure.key
        session.add(decision)
        keys.append(measure.key)
    meeting.state = "afholdt"
    session.add(meeting)
    record.append(session, incident_id=incident.id, actor_id=actor_id,
                  action="moede.referat", at=moment,
                  summary=f"Beslutningsreferat godkendt; {len(keys)} indsatser overført til handleplanen",
                  data={"meeting_id": meeting_id, "measures": keys, "plan_id": plan.id})
    return keys
