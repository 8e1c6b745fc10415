"""The scheduled job behind the plan's time-box: it asks the secretariat to extend or end a plan
whose period is about to end, moves ended plans to evaluation and asks each party for its
evaluation, and reminds the secretariat when a planned beredskabsplan is due for drafting."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handleplaner.clock import dansk, utcnow
from handleplaner.directory import queries as directory
from handleplaner.incidents import get_incident
from handleplaner.plans import timebox
from handleplaner.plans.models import Plan
from handleplaner.plans.templates import PlanTemplateError, load_plan_templates
from handleplaner.storage import transaction

from .outbox import enqueue_alert


def _alert(session: Session, plan: Plan, *, key: str, text: str, audience: list,
           now: datetime, severity: str = "varsling") -> None:
    incident = get_incident(session, plan.incident_id)
    enqueue_alert(session, incident_id=incident.id, kind="besked", severity=severity,
                  exercise=incident.exercise, title=f"Handleplan: {incident.title}", body=text,
                  audience=audience, actor_id="system", dedupe_key=f"tidsramme:{plan.id}:{key}",
                  now=now, all_channels=True)


def run_timebox(engine: Engine, link_base: str, now: datetime | None = None) -> int:
    moment = now or utcnow()
    base = link_base.rstrip("/")
    done = 0
    with Session(engine) as session:
        ending = [p.id for p in timebox.period_ending(session, moment)]
        over = [p.id for p in timebox.period_over(session, moment)]
        try:
            leads = {t.code: t.drafting_lead_days or 14 for t in load_plan_templates().values()}
        except PlanTemplateError:
            leads = {}
        drafting = [p.id for p in timebox.drafting_due(session, moment, leads)]
    for plan_id in ending:
        with transaction(engine) as session:
            plan = session.get(Plan, plan_id)
            timebox.mark_reminded(session, plan, moment)
            _alert(session, plan, key="slutter", now=moment,
                   audience=directory.secretariat_members(session),
                   text=(f"Handleplanens periode slutter {dansk(plan.period_end)}. Forlæng den "
                         f"med en begrundelse og en ny slutdato, eller lad den slutte og gå til "
                         f"evaluering: {base}/haendelser/{plan.incident_id}/plan"))
        done += 1
    for plan_id in over:
        with transaction(engine) as session:
            plan = session.get(Plan, plan_id)
            timebox.start_evaluation(session, plan, moment)
            _alert(session, plan, key="evaluering", now=moment, severity="orientering",
                   audience=timebox.evaluators(session, plan) or directory.secretariat_members(session),
                   text=(f"Handleplanens periode er slut. Giv jeres myndigheds evaluering af "
                         f"indsatserne: {base}/haendelser/{plan.incident_id}/plan"))
        done += 1
    for plan_id in drafting:
        with transaction(engine) as session:
            plan = session.get(Plan, plan_id)
            timebox.mark_reminded(session, plan, moment)
            _alert(session, plan, key="udarbejd", now=moment, severity="orientering",
                   audience=directory.secretariat_members(session),
                   text=(f"Beredskabsplanen for {plan.title} skal udarbejdes nu "
                         f"(begivenheden er {dansk(plan.event_at)}): "
                         f"{base}/haendelser/{plan.incident_id}/plan"))
        done += 1
    return done
