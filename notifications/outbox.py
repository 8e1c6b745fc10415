"""The outbox: an alert and one delivery row per person per channel, written in the caller's
transaction together with the domain change that caused it. Once that transaction commits the
alert is accepted and the delivery worker will deliver it, even if this process dies now."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from handleplaner import record
from handleplaner.clock import utcnow

from .models import QUEUED, Alert, Delivery

KNOWN_CHANNELS = ("teams", "email")


def channels_of(person) -> list[str]:
    """The person's reachable channels, in the order the directory gives."""
    reachable = []
    for name in (c.strip() for c in (person.channels or "").split(",")):
        if name == "teams" and person.teams_user_id and name not in reachable:
            reachable.append(name)
        elif name == "email" and person.email and name not in reachable:
            reachable.append(name)
    return reachable


@dataclass
class Accepted:
    alert: Alert
    deliveries: list[Delivery]
    unreachable: list[str] = field(default_factory=list)

    def count(self, channel: str) -> int:
        return sum(1 for d in self.deliveries if d.channel == channel)


def enqueue_alert(session: Session, *, incident_id: int, kind: str, severity: str,
                  exercise: bool, title: str, body: str, audience: list, actor_id: str,
                  dedupe_key: str, now: datetime | None = None) -> Accepted:
    """Write the alert, its deliveries and the record entry; the caller commits."""
    moment = now or utcnow()
    alert = Alert(incident_id=incident_id, kind=kind, severity=severity, exercise=exercise,
                  title=title, body=body, created_at=moment, created_by=actor_id,
                  dedupe_key=dedupe_key)
    session.add(alert)
    session.flush()
    deliveries, unreachable = [], []
    for person in audience:
        channels = channels_of(person)
        if not channels:
            unreachable.append(person.id)
        for channel in channels:
            delivery = Delivery(alert_id=alert.id, incident_id=incident_id, person_id=person.id,
                                channel=channel, state=QUEUED, next_attempt_at=moment,
                                created_at=moment)
            session.add(delivery)
            deliveries.append(delivery)
    session.flush()
    accepted = Accepted(alert=alert, deliveries=deliveries, unreachable=unreachable)
    record.append(
        session, incident_id=incident_id, actor_id=actor_id, action="varsel.accepteret", at=moment,
        summary=(f"{'ØVELSE: ' if exercise else ''}Varsel accepteret til {len(audience)} personer: "
                 f"{accepted.count('teams')} via Teams, {accepted.count('email')} via e-mail"
                 + (f"; {len(unreachable)} uden kanal" if unreachable else "")),
        data={"alert_id": alert.id, "kind": kind, "severity": severity,
              "recipients": [p.id for p in audience], "unreachable": unreachable,
              "deliveries": {c: accepted.count(c) for c in KNOWN_CHANNELS}},
    )
    return accepted
