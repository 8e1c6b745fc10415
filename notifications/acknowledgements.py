"""Acknowledgement (kvittering): a person confirms they have seen an alert, by the Kvitter
button in Teams or the link in the email. It covers every delivery of that alert to the person
and every delivery sent on their behalf by escalation, and it stops their escalation chain. When
each authority has the quorum of acknowledgements the alert asks for, the whole alert is
acknowledged and escalation stops for everyone."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, or_, select

from handleplaner import record
from handleplaner.clock import dansk, utcnow
from handleplaner.directory.models import Person
from handleplaner.incidents import lock_incident

from .models import ACKNOWLEDGED, ESCALATED, FAILED, QUEUED, SENT, Alert, Delivery

VIA = {"teams": "Teams", "email": "e-mail-link", "web": "SSP Beredskab"}


class NotARecipient(Exception):
    """The person was not alerted (nor escalated to) about this alert."""


@dataclass
class Acknowledged:
    alert: Alert
    person: Person
    at: datetime
    already: bool  # the person had acknowledged before
    quorum_reached_now: bool

    @property
    def text(self) -> str:
        return f"Kvitteret af {self.person.name} {dansk(self.at)}"


def _targets(session: Session, alert_id: int, person_id: str) -> list[Delivery]:
    """Deliveries to the person, and those sent to others on the person's behalf, and — if the
    person got it on someone's behalf — that someone's chain too."""
    mine = list(session.exec(select(Delivery).where(Delivery.alert_id == alert_id,
                                                    Delivery.person_id == person_id)))
    originals = {d.on_behalf_of or d.person_id for d in mine}
    if not originals:
        return []
    return list(session.exec(select(Delivery).where(
        Delivery.alert_id == alert_id,
        or_(Delivery.person_id.in_(originals), Delivery.on_behalf_of.in_(originals),
            Delivery.person_id == person_id))))


def quorum_reached(session: Session, alert: Alert) -> bool:
    """Each authority among the original recipients has ``quorum_per_authority`` acknowledgers
    (or all of its recipients, if fewer). Without a quorum, every original recipient must."""
    rows = list(session.exec(select(Delivery, Person).join(Person, Person.id == Delivery.person_id)
                             .where(Delivery.alert_id == alert.id)))
    recipients: dict[str, set[str]] = defaultdict(set)
    acknowledged_targets: set[str] = set()
    acknowledgers: dict[str, set[str]] = defaultdict(set)
    for delivery, person in rows:
        target = delivery.on_behalf_of or delivery.person_id
        if delivery.escalation_level == 0:
            recipients[person.authority_code].add(person.id)
        if delivery.acknowledged_at is not None:
            acknowledged_targets.add(target)
            acknowledgers[person.authority_code].add(delivery.acknowledged_by or person.id)
    if not recipients:
        return False
    if alert.quorum_per_authority:
        return all(len(acknowledgers[a]) >= min(alert.quorum_per_authority, len(people))
                   for a, people in recipients.items())
    return all(p in acknowledged_targets for people in recipients.values() for p in people)


def acknowledge(session: Session, *, alert_id: int, person_id: str, via: str,
                now: datetime | None = None) -> Acknowledged:
    """Record the acknowledgement in the caller's transaction. Acknowledging twice is harmless."""
    moment = now or utcnow()
    alert = session.get(Alert, alert_id)
    person = session.get(Person, person_id)
    if alert is None or person is None:
        raise NotARecipient("Varslet findes ikke.")
    lock_incident(session, alert.incident_id)
    targets = _targets(session, alert_id, person_id)
    if not targets:
        raise NotARecipient("Du har ikke fået dette varsel.")
    own = [d for d in targets if d.person_id == person_id]
    already = any(d.acknowledged_at is not None for d in own)
    for delivery in targets:
        if delivery.acknowledged_at is None:
            delivery.acknowledged_at = moment
            delivery.acknowledged_by = person_id
        if delivery.state in (SENT, ESCALATED):
            delivery.state = ACKNOWLEDGED
        elif delivery.state == QUEUED:
            delivery.state = ACKNOWLEDGED  # no need to send what has been seen
        session.add(delivery)
    reached_now = False
    if not already:
        record.append(session, incident_id=alert.incident_id, actor_id=person_id,
                      action="varsel.kvitteret", at=moment,
                      summary=f"{person.name} kvitterede for varslet via {VIA.get(via, via)}",
                      data={"alert_id": alert.id, "via": via,
                            "deliveries": [d.id for d in targets]})
        session.flush()
        if alert.state == "aktiv" and quorum_reached(session, alert):
            alert.state = "kvitteret"
            alert.closed_at = moment
            session.add(alert)
            reached_now = True
            record.append(session, incident_id=alert.incident_id, actor_id=record.SYSTEM,
                          action="varsel.kvorum", at=moment,
                          summary="Varslet er kvitteret af det krævede antal; eskalering stoppet",
                          data={"alert_id": alert.id,
                                "quorum_per_authority": alert.quorum_per_authority})
    first = min((d.acknowledged_at for d in own if d.acknowledged_at), default=moment)
    return Acknowledged(alert=alert, person=person, at=first, already=already,
                        quorum_reached_now=reached_now)


def delivery_is_open(delivery: Delivery) -> bool:
    return delivery.acknowledged_at is None and delivery.state not in (FAILED,)
