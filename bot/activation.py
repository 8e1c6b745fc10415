"""Activating beredskab from the web page or the API: the incident, its record entry, the alert
and its deliveries are written in one transaction, so either all of it happens or none of it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handleplaner.clock import utcnow
from handleplaner.incidents import INCIDENT_TYPES, SEVERITIES, Incident, activate
from handleplaner.incidents.service import check_activation
from handleplaner.storage import transaction
from notifications.audiences import activation_audience, activation_groups
from notifications.channel_posts import enqueue_channel_posts
from notifications.outbox import Accepted, enqueue_alert


@dataclass
class Activated:
    incident: Incident
    alert: Accepted


def activate_beredskab(engine: Engine, *, actor_id: str, data: Mapping[str, Any],
                       now: datetime | None = None,
                       escalate_after_s: int | None = 600) -> Activated:
    """Raises ``NotAllowed`` or ``ActivationInvalid`` with nothing written.

    An Akut activation must be acknowledged; silence escalates after ``escalate_after_s``."""
    moment = now or utcnow()
    with transaction(engine) as session:
        activation = activate(session, actor_id=actor_id, data=data, now=moment)
        incident = activation.incident
        audience = activation_audience(session, activation.area_codes)
        accepted = enqueue_alert(
            session, incident_id=incident.id, kind="aktivering", severity=incident.severity,
            exercise=incident.exercise,
            title=f"Beredskab aktiveret: {INCIDENT_TYPES[incident.incident_type]}",
            body=(f"{SEVERITIES[incident.severity]}: {incident.title}"),
            audience=audience, actor_id=actor_id,
            dedupe_key=f"aktivering:{incident.reference}", now=moment,
            requires_ack=incident.severity == "akut",
            escalate_after_s=escalate_after_s if incident.severity == "akut" else None)
        enqueue_channel_posts(session, accepted.alert,
                              activation_groups(session, activation.area_codes,
                                                incident.whole_city), moment)
    return Activated(incident=incident, alert=accepted)


def activation_recipients(engine: Engine, *, actor_id: str, data: Mapping[str, Any],
                          now: datetime | None = None) -> list:
    """Who the activation would alert, without writing anything: the same checks as
    ``activate_beredskab`` (raises ``NotAllowed`` or ``ActivationInvalid``), then the audience.
    The web page asks for confirmation when it is large."""
    with Session(engine) as session:
        _, areas = check_activation(session, actor_id=actor_id, data=data, now=now or utcnow())
        return activation_audience(session, areas)
