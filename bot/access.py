"""Who the caller is and what they may see (retsplejelovens § 115: no more people than relevant).

Every route declares its rule with ``@access.rule(...)`` next to its handler; the ``guard``
middleware enforces it before the handler runs, and ``create_app`` refuses to start if a route
has no rule. The rules:

- ``PUBLIC``: anyone (health, sign-in, the information pages, the API description).
- ``BOT``: the Teams bot endpoint; the Bot Framework token is checked by the endpoint itself.
- ``SIGNED_IN``: any active person in the directory.
- ``ACTIVATOR``: those who may activate beredskab (styregruppe, secretariat, ledergrupper).
- ``SECRETARIAT``: the SSP Sekretariat.
- ``incident(role)``: the route names an incident (directly or through a plan, meeting, alert,
  delivery or plan version); the caller must be allowed to see it, and then hold ``role``.
  An incident the caller may not see answers 404, the same as one that does not exist.

An incident is visible to its participants (the activator, everyone alerted about it, meeting
invitees, those responsible for its measures and commitments) and to the secretariat; one that
is not confidential also to everyone who may activate beredskab.
"""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import or_
from sqlmodel import Session, select

from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.incidents import get_incident
from handleplaner.meetings.models import Meeting, MeetingInvitee
from handleplaner.plans.models import Plan, PlanMeasure, PlanVersion
from notifications.models import Alert, Delivery

from . import web_session
from .keys import SERVICES

DEMO_HEADER = "X-Demo-Person"
CSRF_HEADER = "X-CSRF-Token"

ACTIVATOR_ROLE = "activator"
SECRETARIAT_ROLE = "secretariat"


@dataclass(frozen=True)
class Rule:
    signed_in: bool = True
    role: str | None = None  # ACTIVATOR_ROLE | SECRETARIAT_ROLE
    incident: bool = False
    bot: bool = False


PUBLIC = Rule(signed_in=False)
BOT = Rule(signed_in=False, bot=True)
SIGNED_IN = Rule()
ACTIVATOR = Rule(role=ACTIVATOR_ROLE)
SECRETARIAT = Rule(role=SECRETARIAT_ROLE)


def incident(role: str | None = None) -> Rule:
    return Rule(role=role, incident=True)


ATTRIBUTE = "__access_rule__"


def rule(declared: Rule):
    """Declare who may call the decorated handler."""
    def mark(handler):
        setattr(handler, ATTRIBUTE, declared)
        return handler
    return mark


def rule_of(handler) -> Rule | None:
    return getattr(handler, ATTRIBUTE, None)


class RouteWithoutRule(Exception):
    pass


def check_routes(app: web.Application) -> None:
    """Every route must declare its rule: a new route without one stops the service."""
    missing = sorted({f"{r.method} {r.resource.canonical}" for r in app.router.routes()
                      if r.method != "HEAD" and rule_of(r.handler) is None})
    if missing:
        raise RouteWithoutRule("Ruter uden adgangsregel: " + ", ".join(missing))


# -- who is calling ---------------------------------------------------------------------------

def current_person(request: web.Request, session: Session):
    """The signed-in person (cookie), or in demo mode the API's ``X-Demo-Person`` header."""
    person_id = web_session.person_id(request)
    if person_id is None and request.app[SERVICES].settings.demo:
        person_id = request.headers.get(DEMO_HEADER)
    if not person_id:
        return None
    person = directory.get_person(session, person_id)
    return person if person is not None and person.active else None


is_secretariat = directory.is_secretariat


def has_role(session: Session, person_id: str, role: str | None) -> bool:
    if role is None:
        return True
    if role == ACTIVATOR_ROLE:
        return directory.may_activate(session, person_id)
    if role == SECRETARIAT_ROLE:
        return is_secretariat(session, person_id)
    raise ValueError(f"ukendt rolle {role!r}")


def is_participant(session: Session, person_id: str, incident_id: int) -> bool:
    """Activated it, was alerted about it, is invited to its meeting, or is responsible for one
    of its measures or commitments."""
    found = get_incident(session, incident_id)
    if found is None:
        return False
    if found.activated_by == person_id:
        return True
    checks = (
        select(Delivery.id).where(Delivery.incident_id == incident_id,
                                  Delivery.person_id == person_id),
        select(MeetingInvitee.id).join(Meeting, Meeting.id == MeetingInvitee.meeting_id)
        .where(Meeting.incident_id == incident_id, MeetingInvitee.person_id == person_id),
        select(Commitment.id).where(Commitment.incident_id == incident_id,
                                    or_(Commitment.responsible_id == person_id,
                                        Commitment.assigned_id == person_id)),
        select(PlanMeasure.id).join(Plan, Plan.id == PlanMeasure.plan_id)
        .where(Plan.incident_id == incident_id, PlanMeasure.responsible_id == person_id),
    )
    return any(session.exec(query.limit(1)).first() is not None for query in checks)


def may_view_incident(session: Session, person_id: str, incident_id: int) -> bool:
    found = get_incident(session, incident_id)
    if found is None:
        return False
    if is_secretariat(session, person_id) or is_participant(session, person_id, incident_id):
        return True
    return not found.confidential and directory.may_activate(session, person_id)


# -- which incident a route names -------------------------------------------------------------

def _int(value: str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None  # ids are 32-bit INTEGER columns


def _through(model, column):
    def resolve(session: Session, key: int) -> int | None:
        row = session.get(model, key)
        return getattr(row, column) if row is not None else None
    return resolve


def _version_incident(session: Session, key: int) -> int | None:
    version = session.get(PlanVersion, key)
    plan = session.get(Plan, version.plan_id) if version is not None else None
    return plan.incident_id if plan is not None else None


RESOLVERS = {
    "incident_id": lambda session, key: key if get_incident(session, key) is not None else None,
    "plan_id": _through(Plan, "incident_id"),
    "meeting_id": _through(Meeting, "incident_id"),
    "alert_id": _through(Alert, "incident_id"),
    "delivery_id": _through(Delivery, "incident_id"),
    "version_id": _version_incident,
}


def incident_of(request: web.Request, session: Session) -> int | None:
    """The incident the route's path names, or None if it names none that exists."""
    for name, resolve in RESOLVERS.items():
        if name in request.match_info:
            key = _int(request.match_info[name])
            return resolve(session, key) if key is not None else None
    return None


INCIDENT_KEY = web.RequestKey("beredskab_incident_id", int)
PERSON_KEY = web.RequestKey("beredskab_person_id", str)

REFUSALS = {
    ACTIVATOR_ROLE: "Kun SSP-styregruppen, SSP Sekretariatet og SSP-ledergrupperne har adgang "
                    "til dette.",
    SECRETARIAT_ROLE: "Kun SSP Sekretariatet har adgang til dette.",
}
