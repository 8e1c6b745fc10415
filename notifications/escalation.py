"""Escalation: an alert that asks for acknowledgement moves on when a recipient stays silent.

For each original recipient without an acknowledgement, ``escalate_after_s`` after the last step
was sent, the next step is taken:

1. the recipient's next channel from the directory that has not been used yet;
2. the recipient's deputy (*suppleant*);
3. the chair of the recipient's group (its formand, else the secretariat's consultant in it);
4. the SSP Sekretariat.

An acknowledgement by anyone in the chain stops it, and so does the alert's quorum. Each step is
new delivery rows (never a second one to the same person on the same channel) and a record
entry. Steps that have nobody to send to are skipped at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handleplaner import record
from handleplaner.clock import utcnow
from handleplaner.directory import queries as directory
from handleplaner.directory.models import Person
from handleplaner.incidents import lock_incident
from handleplaner.storage import transaction

from .models import ESCALATED, QUEUED, SENT, Alert, Delivery
from .outbox import channels_of, first_channels

LAST_LEVEL = 4
STEP_NAMES = {1: "næste kanal", 2: "suppleant", 3: "gruppens formand", 4: "SSP Sekretariatet"}
CHAIR_PREFERENCE = ("ledergruppe", "lokaludvalg", "koordinationsgruppe", "chefgruppe",
                    "styregruppe", "sekretariat", "ekstern")


def _chain(deliveries: list[Delivery], target: str) -> list[Delivery]:
    return [d for d in deliveries if d.on_behalf_of == target
            or (d.person_id == target and d.on_behalf_of is None)]


def _chair(session: Session, person_id: str) -> Person | None:
    groups = sorted(directory.groups_of(session, person_id),
                    key=lambda g: (CHAIR_PREFERENCE.index(g.kind) if g.kind in CHAIR_PREFERENCE
                                   else len(CHAIR_PREFERENCE), g.code))
    for group in groups:
        if group.chair_id and group.chair_id != person_id:
            chair = directory.get_person(session, group.chair_id)
            if chair is not None and chair.active:
                return chair
        # Groups without a named chair: the formand, else the secretariat's consultant (sekretær).
        members = directory.memberships(session, group.code)
        for wanted in ("formand", "sekretær"):
            for member, role in members:
                if role == wanted and member.id != person_id:
                    return member
    return None


def _step(session: Session, alert: Alert, target: Person, level: int,
          chain: list[Delivery]) -> list[tuple[Person, str]]:
    """(person, channel) pairs to send to at ``level``; empty if the step has nobody."""
    if level == 1:
        used = {d.channel for d in chain if d.person_id == target.id}
        return [(target, c) for c in channels_of(target) if c not in used][:1]
    if level == 2:
        deputy = directory.deputy_of(session, target.id)
        people = [deputy] if deputy is not None and deputy.active and deputy.id != target.id else []
    elif level == 3:
        chair = _chair(session, target.id)
        people = [chair] if chair is not None else []
    else:
        people = [p for p in directory.secretariat_members(session) if p.id != target.id]
    return [(p, c) for p in people for c in first_channels(p, alert.severity)]


def _escalate_target(session: Session, alert: Alert, target: Person, chain: list[Delivery],
                     taken: set[tuple[str, str]], now: datetime) -> int:
    level = max(d.escalation_level for d in chain)
    current = [d for d in chain if d.escalation_level == level]
    if any(d.state == QUEUED for d in current) or all(d.state == ESCALATED for d in current):
        return 0  # not sent yet, or the chain is used up
    since = max((d.sent_at or d.created_at) for d in current)
    if now - since < timedelta(seconds=alert.escalate_after_s):
        return 0
    while level < LAST_LEVEL:
        level += 1
        pairs = [(p, c) for p, c in _step(session, alert, target, level, chain)
                 if (p.id, c) not in taken]
        if not pairs:
            continue
        for delivery in current:
            if delivery.state == SENT:
                delivery.state = ESCALATED
                session.add(delivery)
        for person, channel in pairs:
            taken.add((person.id, channel))
            session.add(Delivery(
                alert_id=alert.id, incident_id=alert.incident_id, person_id=person.id,
                channel=channel, state=QUEUED, next_attempt_at=now, created_at=now,
                escalation_level=level, on_behalf_of=None if level == 1 else target.id))
        names = ", ".join(sorted({f"{p.name} ({'Teams' if c == 'teams' else 'e-mail'})"
                                  for p, c in pairs}))
        record.append(
            session, incident_id=alert.incident_id, actor_id=record.SYSTEM,
            action="varsel.eskaleret", at=now,
            summary=(f"Ingen kvittering fra {target.name} efter "
                     f"{alert.escalate_after_s // 60 or alert.escalate_after_s} "
                     f"{'min.' if alert.escalate_after_s >= 60 else 'sek.'}: "
                     f"sendt til {STEP_NAMES[level]}: {names}"),
            data={"alert_id": alert.id, "target": target.id, "level": level,
                  "to": [[p.id, c] for p, c in pairs]})
        return 1
    # Everyone further up the chain already has the alert: say so once, and stop.
    silent = [d for d in current if d.state == SENT]
    if not silent:
        return 0
    for delivery in silent:
        delivery.state = ESCALATED
        session.add(delivery)
    record.append(session, incident_id=alert.incident_id, actor_id=record.SYSTEM,
                  action="varsel.eskalering_opbrugt", at=now,
                  summary=(f"Ingen kvittering fra {target.name}; suppleant, formand og "
                           "SSP Sekretariatet har allerede fået varslet"),
                  data={"alert_id": alert.id, "target": target.id})
    return 1


def escalate_alert(session: Session, alert: Alert, now: datetime) -> int:
    lock_incident(session, alert.incident_id)
    deliveries = list(session.exec(select(Delivery).where(Delivery.alert_id == alert.id)))
    taken = {(d.person_id, d.channel) for d in deliveries}
    acknowledged_targets = {d.on_behalf_of or d.person_id for d in deliveries
                            if d.acknowledged_at is not None}
    targets = sorted({d.person_id for d in deliveries if d.escalation_level == 0})
    steps = 0
    for target_id in targets:
        if target_id in acknowledged_targets:
            continue
        target = session.get(Person, target_id)
        chain = _chain(deliveries, target_id)
        if target is None or not chain:
            continue
        steps += _escalate_target(session, alert, target, chain, taken, now)
    return steps


def escalate_due(engine: Engine, now: datetime | None = None) -> int:
    """Take every escalation step that is due; return how many were taken."""
    moment = now or utcnow()
    with Session(engine) as session:
        alert_ids = list(session.exec(select(Alert.id).where(
            Alert.requires_ack == True, Alert.state == "aktiv",  # noqa: E712
            Alert.escalate_after_s.is_not(None))))
    steps = 0
    for alert_id in alert_ids:
        with transaction(engine) as session:
            alert = session.get(Alert, alert_id)
            if alert is not None and alert.state == "aktiv":
                steps += escalate_alert(session, alert, moment)
    return steps

