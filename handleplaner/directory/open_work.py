"""Who still owns open work: a person the sync would drop is kept while they have any.

Open work is a commitment (responsible, or assigned by the plan) on an incident that is not
closed and not yet done or gone from the plan, or a measure someone is responsible for in a plan
that is neither ended nor refused, on an incident that is not closed, and not done or cancelled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import or_
from sqlmodel import Session, select

CLOSED_INCIDENT = "afsluttet"
FINISHED_COMMITMENTS = ("udfoert", "udgaaet")
FINISHED_PLANS = ("afsluttet", "afvist")
FINISHED_MEASURES = ("udfoert", "aflyst")


@dataclass(frozen=True)
class OpenWork:
    kind: str  # "opgave" (a commitment) or "tiltag" (a measure in a plan)
    title: str
    incident_id: int
    reference: str

    def __str__(self) -> str:
        what = "opgave" if self.kind == "opgave" else "tiltag i handleplanen"
        return f'{what} "{self.title}" ({self.reference})'


def open_work(session: Session, person_ids: Iterable[str]) -> dict[str, list[OpenWork]]:
    """person id -> their open work, for those who have any; each item once per person."""
    from ..commitments.models import Commitment
    from ..incidents.models import Incident
    from ..plans.models import Plan, PlanMeasure

    ids = sorted(set(person_ids))
    found: dict[str, list[OpenWork]] = {}
    if not ids:
        return found
    covered: set[tuple[str, int, str]] = set()  # (person, plan, measure key) seen as commitments
    commitments = session.exec(
        select(Commitment, Incident.reference)
        .join(Incident, Incident.id == Commitment.incident_id)
        .where(Incident.state != CLOSED_INCIDENT,
               Commitment.state.not_in(FINISHED_COMMITMENTS),
               or_(Commitment.responsible_id.in_(ids), Commitment.assigned_id.in_(ids)))
        .order_by(Commitment.incident_id, Commitment.id))
    for commitment, reference in commitments:
        for person_id in {commitment.responsible_id, commitment.assigned_id} & set(ids):
            covered.add((person_id, commitment.plan_id, commitment.measure_key))
            found.setdefault(person_id, []).append(OpenWork(
                "opgave", commitment.title, commitment.incident_id, reference))
    measures = session.exec(
        select(PlanMeasure, Plan.incident_id, Incident.reference)
        .join(Plan, Plan.id == PlanMeasure.plan_id)
        .join(Incident, Incident.id == Plan.incident_id)
        .where(Incident.state != CLOSED_INCIDENT,
               Plan.state.not_in(FINISHED_PLANS),
               PlanMeasure.status.not_in(FINISHED_MEASURES),
               PlanMeasure.responsible_id.in_(ids))
        .order_by(Plan.incident_id, PlanMeasure.position, PlanMeasure.id))
    for measure, incident_id, reference in measures:
        if (measure.responsible_id, measure.plan_id, measure.key) in covered:
            continue
        found.setdefault(measure.responsible_id, []).append(OpenWork(
            "tiltag", measure.title, incident_id, reference))
    return found
