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


CHANNEL_LABELS = {"teams": "Teams", "email": "e-mail", "smtp": "e-mail (SMTP)"}


class ResendRefused(Exception):
    pass


def other_channels(session: Session, delivery: Delivery,
                   available: tuple[str, ...] = ("teams", "email", "smtp")) -> list[str]:
    """Channels the failed delivery could be re-sent on: the person's reachable channels and
    the SMTP mail route, not yet used for this alert, and configured (``available``)."""
    person = session.get(Person, delivery.person_id)
    if person is None:
        return []
    used = set(session.exec(select(Delivery.channel).where(
        Delivery.alert_id == delivery.alert_id, Delivery.person_id == delivery.person_id)))
    candidates = channels_of(person) + (["smtp"] if person.email else [])
    return [c for c in candidates if c not in used and c in available]


def resend(session: Session, *, delivery_id: int, channel: str, actor_id: str,
           now: datetime | None = None,
           available: tuple[str, ...] = ("teams", "email", "smtp")) -> Delivery:
    moment = now or utcnow()
    failed = session.get(Delivery, delivery_id)
    if failed is None:
        raise ResendRefused("Leveringen findes ikke.")
    if failed.state != FAILED:
        raise ResendRefused("Kun fejlede leveringer kan sendes igen.")
    if channel not in other_channels(session, failed, available):
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
                           f"{CHANNEL_LABELS.get(channel, channel)}"),
                  data={"failed_delivery_id": failed.id, "delivery_id": again.id,
                        "channel": channel})
    return again
