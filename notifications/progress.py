"""Live progress of each alert: sent, failed, acknowledged, escalated; exercises apart."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session, select

from handleplaner.clock import iso_utc

from .models import ALERT_KINDS, ALERT_STATES, DELIVERY_STATES, Alert, Delivery


@dataclass
class AlertProgress:
    alert: Alert
    counts: dict[str, int]  # state -> deliveries
    by_channel: dict[str, dict[str, int]]
    recipients: int  # original recipients (people)
    delivered_people: int  # of those, people it reached on at least one channel
    acknowledged_people: int
    escalation_steps: int

    @property
    def kind_label(self) -> str:
        return ALERT_KINDS.get(self.alert.kind, self.alert.kind)

    @property
    def state_label(self) -> str:
        return ALERT_STATES.get(self.alert.state, self.alert.state)

    def as_json(self) -> dict:
        a = self.alert
        return {"id": a.id, "kind": a.kind, "severity": a.severity, "exercise": a.exercise,
                "title": a.title, "text": a.body, "created_at": iso_utc(a.created_at),
                "created_by": a.created_by, "requires_ack": a.requires_ack,
                "quorum_per_authority": a.quorum_per_authority,
                "escalate_after_s": a.escalate_after_s, "parent_alert_id": a.parent_alert_id,
                "state": a.state, "recipients": self.recipients,
                "acknowledged_people": self.acknowledged_people,
                "escalation_steps": self.escalation_steps, "deliveries": self.counts,
                "by_channel": self.by_channel}


def alert_progress(session: Session, alert: Alert) -> AlertProgress:
    deliveries = list(session.exec(select(Delivery).where(Delivery.alert_id == alert.id)))
    counts = {state: 0 for state in DELIVERY_STATES}
    counts.update(Counter(d.state for d in deliveries))
    by_channel: dict[str, dict[str, int]] = {}
    for d in deliveries:
        by_channel.setdefault(d.channel, {s: 0 for s in DELIVERY_STATES})[d.state] += 1
    originals = {d.person_id for d in deliveries if d.escalation_level == 0}
    acknowledged = {d.on_behalf_of or d.person_id for d in deliveries if d.acknowledged_at}
    return AlertProgress(alert=alert, counts=counts, by_channel=by_channel,
                         recipients=len(originals),
                         delivered_people=len({d.person_id for d in deliveries
                                               if d.escalation_level == 0 and d.sent_at}),
                         acknowledged_people=len(acknowledged & originals),
                         escalation_steps=sum(1 for d in deliveries if d.escalation_level > 0))


def incident_progress(session: Session, incident_id: int) -> list[AlertProgress]:
    alerts = session.exec(select(Alert).where(Alert.incident_id == incident_id)
                          .order_by(Alert.created_at, Alert.id))
    return [alert_progress(session, a) for a in alerts]
