"""What the sender and the incident page see: each delivery with its state, and the counts."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlmodel import Session, select

from handleplaner.clock import iso_utc
from handleplaner.directory.models import Person

from .models import DELIVERY_STATES, Alert, Delivery


@dataclass
class DeliveryRow:
    delivery_id: int
    alert_id: int
    person_id: str
    name: str
    title: str
    authority: str
    channel: str
    state: str
    state_label: str
    attempts: int
    sent_at: datetime | None
    last_error: str | None

    def as_json(self) -> dict:
        data = asdict(self)
        data["sent_at"] = iso_utc(self.sent_at) if self.sent_at else None
        return data


def deliveries(session: Session, incident_id: int) -> list[DeliveryRow]:
    rows = session.exec(
        select(Delivery, Person).join(Person, Person.id == Delivery.person_id)
        .where(Delivery.incident_id == incident_id)
        .order_by(Person.authority_code, Person.name, Delivery.channel)
    )
    return [DeliveryRow(delivery_id=d.id, alert_id=d.alert_id, person_id=p.id, name=p.name,
                        title=p.title or "", authority=p.authority_code, channel=d.channel,
                        state=d.state, state_label=DELIVERY_STATES.get(d.state, d.state),
                        attempts=d.attempts, sent_at=d.sent_at, last_error=d.last_error)
            for d, p in rows]


def counts(rows: list[DeliveryRow]) -> dict[str, dict[str, int]]:
    """{channel: {state: n}} with every known state present."""
    result: dict[str, dict[str, int]] = {}
    tally = Counter((r.channel, r.state) for r in rows)
    for channel in sorted({r.channel for r in rows}):
        result[channel] = {state: tally.get((channel, state), 0) for state in DELIVERY_STATES}
    return result


def alerts(session: Session, incident_id: int) -> list[Alert]:
    return list(session.exec(select(Alert).where(Alert.incident_id == incident_id)
                             .order_by(Alert.created_at)))
