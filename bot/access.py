"""Who the caller is and what they may see."""
from __future__ import annotations

from aiohttp import web
from sqlmodel import Session, select

from handleplaner.directory import queries as directory
from notifications.models import Delivery

from . import web_session
from .keys import SERVICES

DEMO_HEADER = "X-Demo-Person"


def current_person(request: web.Request, session: Session):
    """The signed-in person (cookie), or in demo mode the API's ``X-Demo-Person`` header."""
    person_id = web_session.person_id(request)
    if person_id is None and request.app[SERVICES].settings.demo:
        person_id = request.headers.get(DEMO_HEADER)
    if not person_id:
        return None
    person = directory.get_person(session, person_id)
    return person if person is not None and person.active else None


def may_view_incident(session: Session, person_id: str, incident_id: int) -> bool:
    """Those who may activate beredskab, and everyone alerted about this incident."""
    if directory.may_activate(session, person_id):
        return True
    return session.exec(select(Delivery.id).where(Delivery.incident_id == incident_id,
                                                  Delivery.person_id == person_id)).first() is not None
