"""A delivery that finally failed is offered for re-send on another of the person's channels."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from handleplaner import record
from handleplaner.clock import utcnow
from handleplaner.directory.models import Person
from handleplaner.incidents import lock_incident

from .models import FAILED, QUEUED, Delivery
from .outbox import channels_of


class ResendRefused(Exception):
    pass


def other_channels(session: Session, delivery: Delivery) -> list[str]:
    """Channels the failed delivery could be re-sent on (reachable, not yet used for it)."""
    person = session.get(Person, delivery.person_id)
    used = set(session.exec(select(Delivery.channel).where(
        Delivery.alert_id == delivery.alert_id, Delivery.person_id == delivery.person_id)))
    return [c for c in channels_of(person) if c not in used] if person else []


def resend(session: Session, *, delivery_id: int, channel: str, actor_id: str,
           now: datetime | None = None) -> Delivery:
    moment = now or utcnow()
    failed = session.get(Delivery, delivery_id)
    if failed is None:
        raise ResendRefused("Leveringen findes ikke.")
    if failed.state != FAILED:
        raise ResendRefused("Kun fejlede leveringer kan sendes igen.")
    if channel not in other_channels(session, failed):
        raise ResendRefused(f"Kan ikke sendes igen via '{channel}': kanalen er brugt eller ikke "
                            "mulig for modtageren.")
    lock_incident(session, failed.incident_id)
    again = Delivery(alert_id=failed.alert_id, incident_id=failed.incident_id,
                     person_id=failed.person_id, channel=channel, state=QUEUED,
                     next_attempt_at=moment, created_at=moment,
                     escalation_level=failed.escalation_level, on_behalf_of=failed.on_behalf_of)
    session.add(again)
    session.flush()
    person = session.get(Person, failed.person_id)
    record.append(session, incident_id=failed.incident_id, actor_id=actor_id,
                  action="varsel.sendt_igen", at=moment,
                  summary=(f"Fejlet varsel til {person.name} sendes igen via "
                           f"{'Teams' if channel == 'teams' else 'e-mail'}"),
                  data={"failed_delivery_id": failed.id, "delivery_id": again.id,
                        "channel": channel})
    return again
