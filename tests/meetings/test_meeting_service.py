"""The beredskabsmøde's rules: time suggested by severity, fixed parties proposed, externals only
with a reason, attendance per authority, decisions that become plan measures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session

from bot.activation import activate_beredskab
from handleplaner import record
from handleplaner.clock import COPENHAGEN
from handleplaner.directory import queries as directory
from handleplaner.incidents import get_incident
from handleplaner.meetings import service as meetings
from handleplaner.plans import service as plans
from handleplaner.storage import transaction
from tests.service.helpers import non_activator, noerrebro, secretariat_member, shooting


def test_suggested_time_is_at_once_for_akut_and_next_working_day_otherwise():
    friday_evening = datetime(2026, 11, 27, 19, 10, tzinfo=timezone.utc)
    akut = meetings.suggest_time("akut", friday_evening)
    assert timedelta(0) < akut - friday_evening <= meetings.AKUT_WITHIN
    later = meetings.suggest_time("varsling", friday_evening).astimezone(COPENHAGEN)
    assert (later.weekday(), later.hour) == (0, 9)  # Monday 9:00 Copenhagen time


@pytest.fixture
def incident_id(engine) -> int:
    return activate_beredskab(engine, actor_id=secretariat_member(engine).id,
                              data=shooting(noerrebro(engine))).incident.id


def test_call_proposes_fixed_parties_and_needs_a_reason_for_externals(engine, incident_id):
    editor = secretariat_member(engine)
    with Session(engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    with pytest.raises(meetings.MeetingInvalid) as refused, transaction(engine) as session:
        meetings.call_meeting(session, incident_id=incident_id, actor_id=editor.id,
                              organizer="x@kk.example",
                              data={"externals": [{"person_id": external.id, "reason": ""}]})
    assert "konkret vurdering" in refused.value.errors["externals[0].reason"]
    with pytest.raises(meetings.MeetingRefused), transaction(engine) as session:
        meetings.call_meeting(session, incident_id=incident_id, actor_id=non_activator(engine).id,
                              organizer="x@kk.example", data={})
    with transaction(engine) as session:
        meeting = meetings.call_meeting(
            session, incident_id=incident_id, actor_id=editor.id, organizer="x@kk.example",
            data={"externals": [{"person_id": external.id,
                                 "reason": "Tryghedsvandringer i boligområdet"}]})
        rows = meetings.invitees(session, meeting.id)
        assert {r.authority_code for r in rows if not r.external} >= {"BUF", "SOF", "KFF", "BIF", "POL", "SSP"}
        (ext,) = [r for r in rows if r.external]
        assert ext.reason.startswith("Tryghedsvandringer") and not ext.by_calendar
        assert [a.title for a in meetings.agenda(session, meeting.id)][:2] == [
            "Situationsbillede", "Indsatser pr. myndighed"]
        assert get_incident(session, incident_id).state == "moede_indkaldt"
        entry = record.entries(session, incident_id)[-1]
        assert entry.action == "moede.indkaldt" and "1 eksterne" in entry.summary


def test_attendance_per_authority_and_minutes_become_measures(engine, incident_id):
    editor = secretariat_member(engine)
    with transaction(engine) as session:
        meeting = meetings.call_meeting(session, incident_id=incident_id, actor_id=editor.id,
                                        organizer="x@kk.example", data={})
        meeting_id = meeting.id
        for row in meetings.invitees(session, meeting_id):
            answer = "declined" if row.authority_code == "KFF" else "accepted"
            meetings.record_response(session, meeting_id=meeting_id, person_id=row.person_id,
                                     response=answer, actor_id=row.person_id)
    with Session(engine) as session:
        by_authority = {a.authority: a for a in meetings.attendance(session, meeting_id)}
    assert by_authority["KFF"].nobody_coming and not by_authority["KFF"].represented
    assert by_authority["POL"].represented
    with transaction(engine) as session:
        start = meeting.starts_at + timedelta(hours=2)
        meetings.add_decision(session, meeting_id=meeting_id, agenda_position=2,
                              actor_id=editor.id, text="Politiet patruljerer synligt i 3 døgn",
                              measure={"measure_type": "synlig-patruljering", "authority": "POL",
                                       "starts_at": start.isoformat(),
                                       "ends_at": (start + timedelta(days=3)).isoformat()})
        meetings.add_decision(session, meeting_id=meeting_id, agenda_position=5,
                              actor_id=editor.id, text="Næste møde om to dage")
        keys = meetings.minutes_to_plan(session, meeting_id=meeting_id, actor_id=editor.id)
    assert len(keys) == 1
    with Session(engine) as session:
        plan = plans.plan_of_incident(session, incident_id)
        added = [m for m in plans.measures(session, plan.id) if m.key == keys[0]]
        # the decision's text (personal data) goes into the notes, not the title
        assert added[0].title == "Synlig patruljering"
        assert added[0].notes.endswith(": Politiet patruljerer synligt i 3 døgn")
        assert added[0].authority_code == "POL"
        assert record.entries(session, incident_id)[-1].action == "moede.referat"
    with pytest.raises(meetings.MeetingInvalid), transaction(engine) as session:
        meetings.add_decision(session, meeting_id=meeting_id, agenda_position=99,
                              actor_id=editor.id, text="x")
