"""The plan's time-box: before the period ends the secretariat is asked to extend or end it;
when it has ended the plan moves to evaluation and each party is asked for its evaluation.
Planned beredskabsplaner remind the secretariat when drafting is due.

Pure functions on a session; the caller (an APScheduler job) sends the alerts they ask for.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from .. import record
from ..clock import dansk
from ..incidents import get_incident, lock_incident
from ..incidents.states import TransitionRefused, transition
from .models import Plan, PlanEvaluation, PlanMeasure

REMIND_BEFORE = timedelta(hours=24)
OPEN_STATES = ("udkast", "sendt", "godkendt", "afvist")


@dataclass
class Due:
    plan: Plan
    kind: str  # "forlaeng_eller_afslut" | "evaluering" | "udarbejd"


def period_ending(session: Session, now: datetime) -> list[Plan]:
    return list(session.exec(select(Plan).where(
        Plan.state.in_(OPEN_STATES), Plan.reminded_at.is_(None),
        Plan.period_end <= now + REMIND_BEFORE, Plan.period_end > now)))


def period_over(session: Session, now: datetime) -> list[Plan]:
    return list(session.exec(select(Plan).where(Plan.state.in_(OPEN_STATES),
                                                Plan.period_end <= now)))


def mark_reminded(session: Session, plan: Plan, now: datetime) -> None:
    lock_incident(session, plan.incident_id)
    plan.reminded_at = now
    session.add(plan)
    record.append(session, incident_id=plan.incident_id, actor_id=record.SYSTEM,
                  action="handleplan.paamindelse", at=now,
                  summary=(f"Sekretariatet bedt om at forlænge eller afslutte planen "
                           f"(periode slutter {dansk(plan.period_end)})"),
                  data={"plan_id": plan.id})


def start_evaluation(session: Session, plan: Plan, now: datetime) -> list[str]:
    """Move the plan (and the incident) to evaluation; return the authorities to ask."""
    incident = lock_incident(session, plan.incident_id)
    plan.state = "evaluering"
    session.add(plan)
    try:
        incident.state = transition(incident.state, "periode_udloebet")
        session.add(incident)
    except TransitionRefused:
        pass
    authorities = sorted(set(session.exec(select(PlanMeasure.authority_code).where(
        PlanMeasure.plan_id == plan.id))))
    record.append(session, incident_id=plan.incident_id, actor_id=record.SYSTEM,
                  action="handleplan.evaluering", at=now,
                  summary=(f"Planens periode er slut ({dansk(plan.period_end)}); "
                           f"parterne bedes evaluere: {', '.join(authorities)}"),
                  data={"plan_id": plan.id, "authorities": authorities})
    return authorities


def evaluators(session: Session, plan: Plan) -> list:
    """Who evaluates for each party: each measure's responsible leader, else the authority's
    SSP leader in the ledergrupper covering the incident."""
    from ..directory import queries as directory
    from ..incidents import incident_areas

    leaders = directory.ledergruppe_leaders_for_areas(session, incident_areas(session, plan.incident_id))
    people = {}
    for measure in session.exec(select(PlanMeasure).where(PlanMeasure.plan_id == plan.id)):
        person = directory.get_person(session, measure.responsible_id) if measure.responsible_id else None
        if person is None:
            person = next((p for p in leaders if p.authority_code == measure.authority_code), None)
        if person is not None and person.active:
            people[person.id] = person
    return list(people.values())


def evaluate(session: Session, *, plan_id: int, person_id: str, text: str,
             now: datetime) -> PlanEvaluation:
    from ..directory import queries as directory
    from .service import PlanInvalid, PlanRefused

    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanInvalid({"plan": "planen findes ikke"})
    if plan.state != "evaluering":
        raise PlanRefused("Planen kan evalueres, når perioden er slut.")
    if not text or len(text.strip()) < 3 or len(text) > 4000:
        raise PlanInvalid({"text": "skriv en evaluering (3–4000 tegn)"})
    person = directory.get_person(session, person_id)
    lock_incident(session, plan.incident_id)
    row = PlanEvaluation(plan_id=plan.id, person_id=person_id,
                         authority_code=person.authority_code, text=text.strip(), at=now)
    session.add(row)
    record.append(session, incident_id=plan.incident_id, actor_id=person_id,
                  action="handleplan.evaluering_modtaget", at=now,
                  summary=f"Evaluering fra {person.authority_code} ({person.name})",
                  data={"plan_id": plan.id})
    return row


def drafting_due(session: Session, now: datetime, lead_days: dict[str, int]) -> list[Plan]:
    """Planned beredskabsplaner still in draft whose event is within the template's lead time."""
    found = []
    for plan in session.exec(select(Plan).where(Plan.kind == "beredskabsplan",
                                                Plan.state == "udkast",
                                                Plan.reminded_at.is_(None),
                                                Plan.event_at.is_not(None))):
        lead = lead_days.get(plan.template_code, 14)
        if plan.event_at - timedelta(days=lead) <= now:
            found.append(plan)
    return found


__all__ = ["Due", "period_ending", "period_over", "mark_reminded", "start_evaluation",
           "evaluate", "drafting_due", "get_incident"]
