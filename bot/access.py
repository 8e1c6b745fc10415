"""Who the caller is, and the rule each route declares (retsplejelovens § 115: no more people
than relevant). Whether a person may see an incident is decided by the domain's access policy,
``handleplaner/access.py``; this module only names which incident a route's path points at.

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

Who sees an incident is stated once, in ``handleplaner/access.py``.

The guard resolves the caller once - the person and their ``Standing`` towards the incident the
route names - and hands it to the handler as a ``Caller`` (``caller(request)``); handlers take the
person, the incident and the roles from it and do not look them up or decide again.
"""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlmodel import Session

from handleplaner import access as policy
from handleplaner.access import ACTIVATOR_ROLE, SECRETARIAT_ROLE
from handleplaner.directory import queries as directory
from handleplaner.directory.models import Person
from handleplaner.incidents import Incident

from . import web_session
from .keys import SERVICES

DEMO_HEADER = "X-Demo-Person"
CSRF_HEADER = "X-CSRF-Token"


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


# -- which incident a route names -------------------------------------------------------------

def _int(value: str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None  # ids are 32-bit INTEGER columns


# path parameter -> what it names (the domain resolves it through its incident)
NAMES = {"incident_id": "incident", "plan_id": "plan", "meeting_id": "meeting",
         "alert_id": "alert", "delivery_id": "delivery", "version_id": "version"}


def incident_of(request: web.Request, session: Session) -> int | None:
    """The incident the route's path names, or None if it names none that exists. One
    statement, whether it exists or not."""
    for name, kind in NAMES.items():
        if name in request.match_info:
            return policy.incident_of(session, kind, _int(request.match_info[name]))
    return None


INCIDENT_KEY = web.RequestKey("beredskab_incident_id", int)
PERSON_KEY = web.RequestKey("beredskab_person_id", str)


# -- who the guard let in ---------------------------------------------------------------------

@dataclass(frozen=True)
class Caller:
    """The caller as the guard resolved them, once per request: the person and their standing
    towards the incident the route names (none on routes that name no incident). The rows are
    detached from the guard's session: read their fields; a handler that changes the incident
    loads it in its own transaction."""
    person: Person
    standing: policy.Standing

    @property
    def incident(self) -> Incident | None:
        """The incident the route names; the guard has let the caller see it."""
        return self.standing.incident

    @property
    def may_activate(self) -> bool:
        """May activate beredskab and send alerts (styregruppe, secretariat, ledergrupper)."""
        return self.standing.activator

    @property
    def secretariat(self) -> bool:
        """A member of the SSP Sekretariat."""
        return self.standing.secretariat


CALLER_KEY = web.RequestKey("beredskab_caller", Caller)


def caller(request: web.Request) -> Caller:
    """Who the guard let in (on every route that is not public)."""
    return request[CALLER_KEY]


def caller_if_any(request: web.Request) -> Caller | None:
    """The caller on a route that is not public; None on a public one."""
    return request.get(CALLER_KEY)


def named_incident(request: web.Request) -> Incident:
    """The incident the route names (directly or through a plan, meeting, alert, delivery or
    plan version), as the guard found it and let the caller see it."""
    found = caller(request).incident
    if found is None:  # only without the guard: an incident route always has one
        raise web.HTTPNotFound(text="Hændelsen findes ikke.")
    return found

REFUSALS = {
    ACTIVATOR_ROLE: "Kun SSP-styregruppen, SSP Sekretariatet og SSP-ledergrupperne har adgang "
                    "til dette.",
    SECRETARIAT_ROLE: "Kun SSP Sekretariatet har adgang til dette.",
}
