"""The plan's rules: drafting from a template, measures within the period, frozen versions with a
readable diff, and each approval rule of the styregruppe."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.activation import activate_beredskab
from handleplaner import record
from handleplaner.directory import queries as directory
from handleplaner.incidents import get_incident
from handleplaner.plans import service as plans
from handleplaner.storage import transaction
from tests.service.helpers import non_activator, noerrebro, secretariat_member, shooting


@pytest.fixture
def incident_id(engine) -> int:
    person = secretariat_member(engine)
    return activate_beredskab(engine, actor_id=person.id,
                              data=shooting(noerrebro(engine))).incident.id


@pytest.fixture
def editor(engine):
    return secretariat_member(engine)


def draft(engine, incident_id, editor, **kwargs):
    with transaction(engine) as session:
        plan = plans.draft_plan(session, incident_id=incident_id, actor_id=editor.id,
                                template_code="skyderi", **kwargs)
        return plan.id


def test_draft_from_template_fills_measures_owners_and_period(engine, incident_id, editor):
    plan_id = draft(engine, incident_id, editor, period_days=10)
    with Session(engine) as session:
        plan = plans.get_plan(session, plan_id)
        rows = plans.measures(session, plan_id)
        assert plan.period_end - plan.period_start == timedelta(days=10)
        assert {m.authority_code for m in rows} >= {"POL", "SOF", "BUF"}
        assert all(plan.period_start <= m.starts_at < m.ends_at <= plan.period_end for m in rows)
        leaders = {p.id for p in directory.ledergruppe_leaders_for_areas(session, noerrebro(engine))}
        assert any(m.responsible_id in leaders for m in rows)
        assert "Nørrebro" in plan.background or "Nørrebro" in plan.purpose
        assert get_incident(session, incident_id).state == "handleplan_udkast"
        assert record.entries(session, incident_id)[-1].action == "handleplan.udkast"


def test_only_the_secretariat_drafts_and_unknown_templates_are_refused(engine, incident_id, editor):
    outsider = non_activator(engine)
    with pytest.raises(plans.PlanRefused), transaction(engine) as session:
        plans.draft_plan(session, incident_id=incident_id, actor_id=outsider.id,
                         template_code="skyderi")
    with pytest.raises(plans.PlanInvalid, match="ukendt skabelon"), transaction(engine) as session:
        plans.draft_plan(session, incident_id=incident_id, actor_id=editor.id, template_code="x")


def test_a_measure_outside_the_period_is_refused_with_the_period(engine, incident_id, editor):
    plan_id = draft(engine, incident_id, editor, period_days=7)
    with Session(engine) as session:
        plan = plans.get_plan(session, plan_id)
        count = len(plans.measures(session, plan_id))
    outside = {"title": "Ekstra patrulje", "measure_type": "synlig-patruljering",
               "authority": "POL", "starts_at": (plan.period_end - timedelta(hours=2)).isoformat(),
               "ends_at": (plan.period_end + timedelta(days=1)).isoformat()}
    with pytest.raises(plans.PlanInvalid) as refused, transaction(engine) as session:
        plans.add_measure(session, plan_id=plan_id, actor_id=editor.id, data=outside)
    assert "uden for planens periode" in refused.value.errors["ends_at"]
    backwards = dict(outside, ends_at=(plan.period_end - timedelta(hours=3)).isoformat())
    with pytest.raises(plans.PlanInvalid) as refused, transaction(engine) as session:
        plans.add_measure(session, plan_id=plan_id, actor_id=editor.id, data=backwards)
    assert refused.value.errors["ends_at"] == "slut skal ligge efter start"
    with Session(engine) as session:
        assert len(plans.measures(session, plan_id)) == count  # nothing half-written


def test_versions_are_frozen_and_the_next_one_shows_a_readable_diff(engine, incident_id, editor):
    plan_id = draft(engine, incident_id, editor)
    with transaction(engine) as session:
        v1 = plans.send_plan(session, plan_id=plan_id, actor_id=editor.id)
        first = json.loads(v1.snapshot)
    with Session(engine) as session:
        plan = plans.get_plan(session, plan_id)
        rows = plans.measures(session, plan_id)
    retimed, reassigned, removed = rows[0], next(r for r in rows if r.authority_code == "SOF"), rows[-1]
    with transaction(engine) as session:
        plans.update_measure(session, plan_id=plan_id, key=retimed.key, actor_id=editor.id,
                             data={"starts_at": (retimed.starts_at + timedelta(hours=1)).isoformat(),
                                   "ends_at": retimed.ends_at.isoformat()})
        plans.update_measure(session, plan_id=plan_id, key=reassigned.key, actor_id=editor.id,
                             data={"authority": "BUF", "responsible": None})
        plans.remove_measure(session, plan_id=plan_id, key=removed.key, actor_id=editor.id)
        plans.add_measure(session, plan_id=plan_id, actor_id=editor.id, data={
            "title": "Tryghedsvandring med boligsociale partnere", "measure_type": "tryghedsvandring",
            "authority": "SSP", "starts_at": (plan.period_start + timedelta(hours=5)).isoformat(),
            "ends_at": (plan.period_start + timedelta(hours=8)).isoformat()})
    with Session(engine) as session:
        assert json.loads(plans.versions(session, plan_id)[0].snapshot) == first  # unchanged
    with transaction(engine) as session:
        v2 = plans.send_plan(session, plan_id=plan_id, actor_id=editor.id)
        changes = plans.diff(first, json.loads(v2.snapshot))
    kinds = {c.kind for c in changes}
    assert {"tilføjet", "fjernet", "omplanlagt", "overdraget"} <= kinds
    texts = "\n".join(c.text for c in changes)
    assert f"Fjernet: {removed.title}" in texts and "Tilføjet: Tryghedsvandring" in texts
    assert f"Overdraget: {reassigned.title} fra SOF" in texts and "til BUF" in texts
    with Session(engine) as session:
        states = [v.state for v in plans.versions(session, plan_id)]
    assert states == ["erstattet", "afventer"]
    with pytest.raises(plans.PlanRefused, match="ikke ændret"), transaction(engine) as session:
        plans.send_plan(session, plan_id=plan_id, actor_id=editor.id)


def _members(engine):
    with Session(engine) as session:
        members = plans.styregruppe(session)
        chair = plans.styregruppe_chair(session)
    return members, chair


def _sent(engine, incident_id, editor, rule):
    plan_id = draft(engine, incident_id, editor)
    with transaction(engine) as session:
        return plans.send_plan(session, plan_id=plan_id, actor_id=editor.id, rule=rule).id


def _decide(engine, version_id, person_id, decision, comment=""):
    with transaction(engine) as session:
        return plans.decide(session, version_id=version_id, person_id=person_id,
                            decision=decision, comment=comment).version.state


def test_rule_chair_only_the_chair_settles(engine, incident_id, editor):
    members, chair = _members(engine)
    version_id = _sent(engine, incident_id, editor, "formand")
    others = [m.id for m in members if m.id != chair]
    assert _decide(engine, version_id, others[0], "godkend") == "afventer"
    assert _decide(engine, version_id, others[1], "kommentar", "Husk forældrene") == "afventer"
    assert _decide(engine, version_id, chair, "godkend") == "godkendt"
    with Session(engine) as session:
        assert get_incident(session, incident_id).state == "aktiv"
    with pytest.raises(plans.PlanRefused, match="kan ikke længere"):
        _decide(engine, version_id, chair, "afvis")


def test_rule_any_member_settles_at_once(engine, incident_id, editor):
    members, chair = _members(engine)
    version_id = _sent(engine, incident_id, editor, "et-medlem")
    assert _decide(engine, version_id, next(m.id for m in members if m.id != chair), "afvis") == "afvist"


def test_rule_majority(engine, incident_id, editor):
    members, _ = _members(engine)
    version_id = _sent(engine, incident_id, editor, "flertal")
    needed = len(members) // 2 + 1
    for index, member in enumerate(members[:needed]):
        state = _decide(engine, version_id, member.id, "godkend")
        assert state == ("godkendt" if index == needed - 1 else "afventer")


def test_only_styregruppe_members_decide_and_comments_need_text(engine, incident_id, editor):
    members, _ = _members(engine)
    version_id = _sent(engine, incident_id, editor, "formand")
    with pytest.raises(plans.PlanRefused, match="styregruppens medlemmer"):
        _decide(engine, version_id, non_activator(engine).id, "godkend")
    with pytest.raises(plans.PlanInvalid):
        _decide(engine, version_id, members[0].id, "kommentar", "  ")


def test_extension_needs_a_reason_and_a_later_end(engine, incident_id, editor):
    plan_id = draft(engine, incident_id, editor)
    with Session(engine) as session:
        end = plans.get_plan(session, plan_id).period_end
    with pytest.raises(plans.PlanInvalid) as refused, transaction(engine) as session:
        plans.extend_plan(session, plan_id=plan_id, actor_id=editor.id,
                          new_end=end - timedelta(days=1), reason="")
    assert {"reason", "new_end"} <= set(refused.value.errors)
    with transaction(engine) as session:
        plans.extend_plan(session, plan_id=plan_id, actor_id=editor.id,
                          new_end=end + timedelta(days=7), reason="Fortsat uro i området")
    with Session(engine) as session:
        assert plans.get_plan(session, plan_id).period_end == end + timedelta(days=7)
        assert record.entries(session, incident_id)[-1].action == "handleplan.forlaenget"
