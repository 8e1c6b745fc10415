"""What a plan message may carry when it goes to a party outside the SSP parties.

Whether a recipient gets the full texts is decided by the domain, per person
(``handleplaner.privacy.parties.sees_full``); a message is rendered once for all its recipients,
so it carries the full version only when every recipient sees the full one. Otherwise it carries
the Team Sikker By version of the plan, checked by the personal-data check first: if that finds
CPR numbers or registered or directory people, nothing is sent (``PersonalDataFound``).
"""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.plans.documents import sikkerby_version
from handleplaner.privacy.check import PersonalDataFound
from handleplaner.privacy.parties import sees_full
from handleplaner.privacy.sharing import check_sikkerby

from .models import Alert, Delivery


def recipients_see_full(session: Session, alert: Alert) -> bool:
    """Does every recipient of the alert see the incident's full texts?"""
    people = set(session.exec(select(Delivery.person_id).where(Delivery.alert_id == alert.id)))
    return all(sees_full(session, person_id, alert.incident_id) for person_id in people)


def shareable(session: Session, snapshot: dict, what: str) -> dict:
    """The Team Sikker By version of a plan snapshot, if the check lets it through."""
    stops = check_sikkerby(session, snapshot).stops
    if stops:
        raise PersonalDataFound(stops, what)
    return sikkerby_version(snapshot)
