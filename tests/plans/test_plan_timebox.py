"""The time-box: reminder before the period ends, evaluation after it, planned plans prepared
ahead with a drafting reminder."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.activation import activate_beredskab
from handleplaner.clock import utcnow
from handleplaner.incidents import get_incident
from handleplaner.plans import service as plans
from handleplaner.plans.planned import prepare_planned
from handleplaner.plans.timebox import evaluate
from handleplaner.storage import transaction
from notifications.models import Alert
from notifications.plan_timebox import run_timebox
from tests.service.helpers import noerrebro, secretariat_member, shooting


def alerts(engine, incident_id):
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.incident_id == incident_id)
                                 .order_by(Alert.id)))


def test_reminder_before_the_end_then_evaluation_after_it(engine):
    editor = secretariat_member(engine)
    incident_id = activate_beredskab(engine, actor_id=editor.id,
                                     data=shooting(noerrebro(engine))).incident.id
    with transaction(engine) as session:
        plan_id = plans.draft_plan(session, incident_id=incident_id, actor_id=editor.id,
                                   template_code="skyderi", period_days=7).id
        end = plans.get_plan(session, plan_id).period_end
    assert run_timebox(engine, "http://x", end - timedelta(days=3)) == 0
    assert run_timebox(engine, "http://x", end - timedelta(hours=5)) == 1
    assert run_timebox(engine, "http://x", end - timedelta(hours=4)) == 0  # asked once
    reminder = alerts(engine, incident_id)[-1]
    assert "Forlæng den med en begrundelse" in reminder.body
    assert run_timebox(engine, "http://x", end + timedelta(minutes=1)) == 1
    with Session(engine) as session:
        assert plans.get_plan(session, plan_id).state == "evaluering"
        assert get_incident(session, incident_id).state == "evaluering"
    asked = alerts(engine, incident_id)[-1]
    assert "Giv jeres myndigheds evaluering" in asked.body
    with transaction(engine) as session:
        row = evaluate(session, plan_id=plan_id, person_id=editor.id,
                       text="Indsatsen virkede; færre konflikter efter dag 3.", now=utcnow())
        assert row.authority_code == editor.authority_code


def test_a_planned_beredskabsplan_is_prepared_ahead_and_drafting_is_reminded(engine):
    editor = secretariat_member(engine)
    event = utcnow() + timedelta(days=40)
    with transaction(engine) as session:
        plan = prepare_planned(session, actor_id=editor.id, template_code="nytaarsaften",
                               title="Nytårsaften 2026", event_at=event, areas=[],
                               whole_city=True, days_before=2)
        plan_id, incident_id = plan.id, plan.incident_id
        incident = get_incident(session, incident_id)
        assert incident.reference.startswith("B-") and incident.incident_type == "planlagt"
        assert plan.kind == "beredskabsplan" and plan.period_start < event
    assert alerts(engine, incident_id) == []  # nothing is alerted for a planned event
    assert run_timebox(engine, "http://x", utcnow()) == 0  # drafting not due yet (lead 30 days)
    assert run_timebox(engine, "http://x", event - timedelta(days=29)) == 1
    assert "skal udarbejdes nu" in alerts(engine, incident_id)[-1].body
    with pytest.raises(plans.PlanInvalid), transaction(engine) as session:
        prepare_planned(session, actor_id=editor.id, template_code="skyderi", title="x",
                        event_at=utcnow() - timedelta(days=1), areas=["atlantis"])
