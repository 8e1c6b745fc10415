"""Activating beredskab from the web page or the API: the incident, its record entry, the alert
and its deliveries are written in one transaction, so either all of it happens or none of it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handleplaner.clock import to_utc, utcnow
from handleplaner.directory.queries import all_areas
from handleplaner.incidents import INCIDENT_TYPES, SEVERITIES, Incident, activate
from handleplaner.incidents.outgoing import outgoing_description
from handleplaner.incidents.service import check_activation
from handleplaner.storage import transaction
from notifications.audiences import activation_audience, activation_groups
from notifications.channel_posts import enqueue_channel_posts
from notifications.outbox import Accepted, enqueue_alert
from notifications.rendering import AlertFacts, render


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
            with_description=activation.include_description,
            escalate_after_s=escalate_after_s if incident.severity == "akut" else None)
        enqueue_channel_posts(session, accepted.alert,
                              activation_groups(session, activation.area_codes,
                                                incident.whole_city), moment)
    return Activated(incident=incident, alert=accepted)


@dataclass
class ActivationPreview:
    """What an activation would do, before anything is written: whom it alerts and what the
    alert carries (its text, and the description only if chosen)."""
    people: list
    text: str
    description: str


def activation_preview(engine: Engine, *, actor_id: str, data: Mapping[str, Any],
                       now: datetime | None = None) -> ActivationPreview:
    """The same checks as ``activate_beredskab`` (raises ``NotAllowed`` or
    ``ActivationInvalid``), then the audience and the alert's text, without writing anything.
    The web page shows it on request and asks for confirmation when the audience is large."""
    moment = now or utcnow()
    with Session(engine) as session:
        request, areas = check_activation(session, actor_id=actor_id, data=data, now=moment)
        names = {a.code: a.name for a in all_areas(session)}
        people = activation_audience(session, areas)
    facts = AlertFacts(
        reference="reference tildeles ved aktivering", incident_type=request.incident_type,
        severity=request.severity, exercise=request.exercise, confidential=request.confidential,
        title=request.title, description=outgoing_description(request, request.include_description),
        areas=tuple(names.get(c, c) for c in areas), whole_city=request.whole_city,
        occurred_at=to_utc(request.occurred_at), activated_at=moment, activated_by=actor_id,
        link="")
    return ActivationPreview(people=people,
                             text=render("alerts/aktivering.txt.j2", f=facts).strip(),
                             description=facts.description)
