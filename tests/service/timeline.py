"""Building incidents through the services at chosen moments (every step takes ``now``), for the
overview and statistics tests."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.activation import activate_beredskab
from handleplaner.commitments import service as commitments
from handleplaner.commitments.models import Commitment
from handleplaner.incidents import close_incident
from handleplaner.meetings import service as meetings
from handleplaner.plans import service as plans
from handleplaner.storage import transaction
from notifications.channels.base import DeliveryResult
from notifications.plan_alerts import request_approval, send_tasks
from notifications.worker import DeliveryWorker

CHAIR = "p0001"  # the styregruppe's chair (and a secretariat member) in the demo organisation


def activate_at(engine, actor_id: str, now: datetime, areas: list[str], **changes) -> int:
    data = {"incident_type": "skyderi", "title": "Skud ved boligområde",
            "description": "Skud affyret mod en gruppe unge.", "severity": "akut",
            "occurred_at": (now - timedelta(minutes=10)).isoformat(), "areas": areas,
            "whole_city": False, "exercise": False, "confidential": False}
    data.update(changes)
    return activate_beredskab(engine, actor_id=actor_id, data=data, now=now).incident.id


class AlwaysDelivered:
    max_batch = 50

    def __init__(self, name: str):
        self.name = name

    async def send(self, message, recipients):
        return DeliveryResult(ok=True, status_code=201)


async def deliver_at(engine, now: datetime) -> None:
    """Run the delivery worker once with its clock at ``now``: what is due is sent at ``now``."""
    worker = DeliveryWorker(engine, {n: AlwaysDelivered(n) for n in ("teams", "email")},
                            limits={}, link_base="http://beredskab.test", clock=lambda: now,
                            seed=1)
    while await worker.run_once():
        pass


def plan_sent(engine, incident_id: int, editor_id: str, *, drafted: datetime, sent: datetime,
              period_days: int = 7) -> tuple[int, int]:
    """Draft (the period starts when drafted), send to the styregruppe, send the tasks.
    Returns (plan id, version id)."""
    with transaction(engine) as session:
        plan = plans.draft_plan(session, incident_id=incident_id, actor_id=editor_id,
                                template_code="skyderi", period_days=period_days, now=drafted)
        plan_id = plan.id
    with transaction(engine) as session:
        version = plans.send_plan(session, plan_id=plan_id, actor_id=editor_id, now=sent)
        request_approval(session, version=version, actor_id=editor_id, now=sent)
        send_tasks(session, version=version, actor_id=editor_id, now=sent + timedelta(minutes=1))
        return plan_id, version.id


def approve(engine, version_id: int, now: datetime) -> None:
    with transaction(engine) as session:
        plans.decide(session, version_id=version_id, person_id=CHAIR, decision="godkend", now=now)


def owned_commitments(engine, plan_id: int) -> list[Commitment]:
    """The plan's commitments that have a responsible leader, in a fixed order."""
    with Session(engine) as session:
        return list(session.exec(select(Commitment).where(
            Commitment.plan_id == plan_id, Commitment.responsible_id.is_not(None))
            .order_by(Commitment.ends_at, Commitment.id)))


def press(engine, commitment: Commitment, action: str, now: datetime, reason: str = "") -> None:
    with transaction(engine) as session:
        commitments.press(session, commitment_id=commitment.id, version_id=None,
                          person_id=commitment.responsible_id, action=action, reason=reason,
                          now=now)


def call_meeting(engine, incident_id: int, editor_id: str, *, called: datetime,
                 starts: datetime) -> int:
    with transaction(engine) as session:
        return meetings.call_meeting(session, incident_id=incident_id, actor_id=editor_id,
                                     organizer="beredskab@kk.example", now=called,
                                     data={"starts_at": starts.isoformat()}).id


def cancel_meeting(engine, meeting_id: int, editor_id: str, now: datetime) -> None:
    with transaction(engine) as session:
        meetings.cancel_meeting(session, meeting_id=meeting_id, actor_id=editor_id,
                                reason="Situationen er rolig", now=now)


def close(engine, incident_id: int, editor_id: str, now: datetime) -> None:
    with transaction(engine) as session:
        close_incident(session, incident_id=incident_id, actor_id=editor_id, now=now)
