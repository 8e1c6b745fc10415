"""The outbox: an alert and one delivery row per person per channel, written in the caller's
transaction together with the domain change that caused it. Once that transaction commits the
alert is accepted and the delivery worker will deliver it, even if this process dies now.

Never twice: a delivery is unique per (alert, person, channel), and an alert is unique per
``dedupe_key``; the same alert fired again (a double click, two secretaries at once) returns the
alert already accepted instead of a second one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

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


def first_channels(person, severity: str) -> list[str]:
    """Where an alert goes first: Akut on every reachable channel (never Teams alone), otherwise
    the person's first channel; escalation moves on to the next."""
    reachable = channels_of(person)
    if severity != "akut":
        return reachable[:1]
    if reachable == ["teams"] and person.email:
        reachable.append("email")  # Akut never goes by Teams alone
    return reachable


@dataclass
class Accepted:
    alert: Alert
    deliveries: list[Delivery]
    unreachable: list[str] = field(default_factory=list)
    merged: bool = False  # the same alert had already been accepted; nothing new was written

    def count(self, channel: str) -> int:
        return sum(1 for d in self.deliveries if d.channel == channel)


def _existing(session: Session, dedupe_key: str) -> Accepted | None:
    alert = session.exec(select(Alert).where(Alert.dedupe_key == dedupe_key)).first()
    if alert is None:
        return None
    deliveries = list(session.exec(select(Delivery).where(Delivery.alert_id == alert.id)))
    return Accepted(alert=alert, deliveries=deliveries, merged=True)


def enqueue_alert(session: Session, *, incident_id: int, kind: str, severity: str,
                  exercise: bool, title: str, body: str, audience: list, actor_id: str,
                  dedupe_key: str, now: datetime | None = None, requires_ack: bool = False,
                  quorum_per_authority: int | None = None, escalate_after_s: int | None = None,
                  parent_alert_id: int | None = None, audience_spec: str = "{}",
                  plan_version_id: int | None = None, all_channels: bool = False,
                  with_description: bool = False) -> Accepted:
    """Write the alert, its deliveries and the record entry; the caller commits.

    ``with_description``: the sender chose to send the incident's description with the alert;
    the record says so (the caller has refused it for a confidential incident)."""
    if (found := _existing(session, dedupe_key)) is not None:
        return found
    moment = now or utcnow()
    alert = Alert(incident_id=incident_id, kind=kind, severity=severity, exercise=exercise,
                  title=title, body=body, created_at=moment, created_by=actor_id,
                  dedupe_key=dedupe_key, requires_ack=requires_ack,
                  quorum_per_authority=quorum_per_authority, escalate_after_s=escalate_after_s,
                  parent_alert_id=parent_alert_id, audience=audience_spec,
                  plan_version_id=plan_version_id, with_description=with_description)
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        # Someone accepted the same alert a moment ago, in another transaction.
        found = _existing(session, dedupe_key)
        if found is None:
            raise
        return found
    deliveries, unreachable = [], []
    for person in audience:
        channels = channels_of(person) if all_channels else first_channels(person, severity)
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
                 + (f"; {len(unreachable)} uden kanal" if unreachable else "")
                 + ("; kræver kvittering" if requires_ack else "")
                 + ("; afsenderen valgte at sende hændelsens beskrivelse med"
                    if with_description else "")),
        data={"alert_id": alert.id, "kind": kind, "severity": severity,
              "requires_ack": requires_ack, "with_description": with_description,
              "quorum_per_authority": quorum_per_authority,
              "escalate_after_s": escalate_after_s, "parent_alert_id": parent_alert_id,
              "recipients": [p.id for p in audience], "unreachable": unreachable,
              "deliveries": {c: accepted.count(c) for c in KNOWN_CHANNELS}},
    )
    return accepted
