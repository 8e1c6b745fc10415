"""One alert rendered for the channels: the facts of its incident, its own text, its
acknowledgement state. Used by the delivery worker and by the bot when it redraws a card."""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.directory.models import Area, Person
from handleplaner.incidents import Incident, incident_areas

from .channels.base import AlertMessage
from .models import Alert
from .rendering import AlertFacts, alert_texts


def alert_facts(session: Session, alert: Alert, link_base: str, *, acknowledged: str = "",
                notice: str = "") -> AlertFacts:
    incident = session.get(Incident, alert.incident_id)
    codes = incident_areas(session, incident.id)
    names = {a.code: a.name for a in session.exec(select(Area).where(Area.code.in_(codes)))}
    activator = session.get(Person, incident.activated_by)
    base = link_base.rstrip("/")
    return AlertFacts(
        reference=incident.reference, incident_type=incident.incident_type,
        severity=alert.severity, exercise=alert.exercise, confidential=incident.confidential,
        title=incident.title, description=incident.description,
        areas=tuple(names.get(c, c) for c in codes), whole_city=incident.whole_city,
        occurred_at=incident.occurred_at, activated_at=incident.activated_at,
        activated_by=activator.name if activator else incident.activated_by,
        link=f"{base}/haendelser/{incident.id}", kind=alert.kind,
        text="" if alert.kind == "aktivering" else alert.body, alert_id=alert.id,
        requires_ack=alert.requires_ack, ack_url=f"{base}/kvitter/{alert.id}",
        acknowledged=acknowledged, notice=notice)


def alert_message(session: Session, alert: Alert, link_base: str, **kwargs) -> AlertMessage:
    facts = alert_facts(session, alert, link_base, **kwargs)
    texts = alert_texts(facts)
    return AlertMessage(alert_id=alert.id, incident_id=alert.incident_id, subject=texts["subject"],
                        text=texts["text"], facts=tuple(facts.fact_list()),
                        severity=alert.severity, exercise=alert.exercise, link=facts.link,
                        card=texts["card"], html=texts["html"])
