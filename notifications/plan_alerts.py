"""Sending a plan version to the styregruppe: a card in Teams and an email with the PDF."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from handleplaner.incidents import get_incident
from handleplaner.plans.models import Plan, PlanVersion
from handleplaner.plans.service import KIND_LABELS, styregruppe

from .outbox import Accepted, enqueue_alert


def request_approval(session: Session, *, version: PlanVersion, actor_id: str,
                     now: datetime | None = None) -> Accepted:
    plan = session.get(Plan, version.plan_id)
    incident = get_incident(session, plan.incident_id)
    return enqueue_alert(
        session, incident_id=incident.id, kind="godkendelse", severity="varsling",
        exercise=incident.exercise,
        title=f"{KIND_LABELS[plan.kind]} version {version.number} til godkendelse",
        body=plan.purpose, audience=styregruppe(session), actor_id=actor_id,
        dedupe_key=f"godkendelse:{version.id}", now=now, plan_version_id=version.id,
        all_channels=True)


def share_with_sikker_by(session: Session, *, version: PlanVersion, actor_id: str,
                         now: datetime | None = None) -> Accepted:
    """The version without personal data to Team Sikker By (the caller has run the guard)."""
    from handleplaner.directory import queries as directory

    plan = session.get(Plan, version.plan_id)
    incident = get_incident(session, plan.incident_id)
    people = [p for g in directory.list_groups(session) if g.code == "ekstern-team-sikker-by"
              for p in directory.group_members(session, g.code)]
    if not people:
        people = directory.list_people(session, authority="TSB")
    return enqueue_alert(
        session, incident_id=incident.id, kind="sikkerby", severity="orientering",
        exercise=incident.exercise,
        title=f"{KIND_LABELS[plan.kind]} version {version.number} til Team Sikker By",
        body="Version uden personoplysninger", audience=people, actor_id=actor_id,
        dedupe_key=f"sikkerby:{version.id}", now=now, plan_version_id=version.id,
        all_channels=False)


def send_tasks(session: Session, *, version: PlanVersion, actor_id: str,
               now: datetime | None = None) -> list[Accepted]:
    """After a version is sent: each authority's leaders get that authority's measures as one
    card, with Bekræft / Afvis / Videregiv (only where something awaits their confirmation)."""
    import json

    from handleplaner.commitments.service import sync_with_version
    from handleplaner.directory import queries as directory

    plan = session.get(Plan, version.plan_id)
    incident = get_incident(session, plan.incident_id)
    pending = sync_with_version(session, version, now)
    from .commitment_reminders import plan_reminders_after_commit

    plan_reminders_after_commit(session, [c.id for c in pending])
    by_authority: dict[str, dict] = {}
    for c in pending:
        if c.responsible_id:
            by_authority.setdefault(c.authority_code, {})[c.responsible_id] = True
    accepted = []
    for authority, owners in sorted(by_authority.items()):
        people = [directory.get_person(session, pid) for pid in owners]
        accepted.append(enqueue_alert(
            session, incident_id=incident.id, kind="opgaver", severity="varsling",
            exercise=incident.exercise, title=f"Opgaver for {authority}: {plan.title}",
            body=f"Version {version.number}", audience=[p for p in people if p and p.active],
            actor_id=actor_id, dedupe_key=f"opgaver:{version.id}:{authority}", now=now,
            plan_version_id=version.id, audience_spec=json.dumps({"authority": authority}),
            all_channels=False))
    return accepted
