"""The alerts of an incident as a part of its case file (``handleplaner.casefile``): each alert
with every delivery (person, channel, state, attempts, when sent and acknowledged) and its posts
in the groups' Teams channels. The domain does not import notifications; the bot layer hands this
part in."""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.casefile import Part
from handleplaner.directory.models import Group, Person

from .models import (ALERT_KINDS, ALERT_STATES, DELIVERY_STATES, Alert, ChannelPost, Delivery,
                     DeliveryAttempt)

PATH = "varsler.json"


def _person(people: dict[str, Person], session: Session, person_id: str | None) -> dict | None:
    if not person_id:
        return None
    if person_id not in people:
        people[person_id] = session.get(Person, person_id)
    person = people[person_id]
    if person is None:
        return {"id": person_id}
    return {"id": person.id, "navn": person.name, "titel": person.title,
            "myndighed": person.authority_code}


def alerts_part(session: Session, incident_id: int) -> Part:
    people: dict[str, Person] = {}
    alerts = []
    for alert in session.exec(select(Alert).where(Alert.incident_id == incident_id)
                              .order_by(Alert.created_at, Alert.id)):
        deliveries = []
        for delivery in session.exec(select(Delivery).where(Delivery.alert_id == alert.id)
                                     .order_by(Delivery.escalation_level, Delivery.person_id,
                                               Delivery.channel)):
            attempts = list(session.exec(select(DeliveryAttempt)
                                         .where(DeliveryAttempt.delivery_id == delivery.id)
                                         .order_by(DeliveryAttempt.at, DeliveryAttempt.id)))
            deliveries.append({
                "id": delivery.id, "modtager": _person(people, session, delivery.person_id),
                "kanal": delivery.channel, "tilstand": delivery.state,
                "tilstand_tekst": DELIVERY_STATES.get(delivery.state, delivery.state),
                "forsoeg": delivery.attempts, "oprettet": delivery.created_at,
                "sendt": delivery.sent_at, "fejl": delivery.last_error,
                "kvitteret": delivery.acknowledged_at,
                "kvitteret_af": _person(people, session, delivery.acknowledged_by),
                "eskaleringstrin": delivery.escalation_level,
                "paa_vegne_af": _person(people, session, delivery.on_behalf_of),
                "forsoegsliste": [{"tid": a.at, "udfald": a.outcome, "statuskode": a.status_code,
                                   "fejl": a.error} for a in attempts],
            })
        posts = [{"gruppe": group.name, "tilstand": post.state,
                  "tilstand_tekst": DELIVERY_STATES.get(post.state, post.state),
                  "forsoeg": post.attempts, "sendt": post.sent_at, "fejl": post.last_error}
                 for post, group in session.exec(
                     select(ChannelPost, Group).join(Group, Group.code == ChannelPost.group_code)
                     .where(ChannelPost.alert_id == alert.id).order_by(ChannelPost.id))]
        alerts.append({
            "id": alert.id, "type": alert.kind, "type_tekst": ALERT_KINDS.get(alert.kind, alert.kind),
            "alvor": alert.severity, "oevelse": alert.exercise, "titel": alert.title,
            "tekst": alert.body, "oprettet": alert.created_at,
            "oprettet_af": _person(people, session, alert.created_by),
            "kraever_kvittering": alert.requires_ack, "kvorum_pr_myndighed": alert.quorum_per_authority,
            "eskaler_efter_sekunder": alert.escalate_after_s, "foelger_op_paa": alert.parent_alert_id,
            "tilstand": alert.state, "tilstand_tekst": ALERT_STATES.get(alert.state, alert.state),
            "afsluttet": alert.closed_at, "planversion_id": alert.plan_version_id,
            "leveringer": deliveries, "teams_kanaler": posts,
        })
    return Part(path=PATH, content=alerts,
                description="de sendte varsler med levering pr. modtager og kanal "
                            "(i kø, sendt, fejlet, kvitteret, eskaleret) og opslag i Teams-kanaler")
