"""The access policy: who may see an incident, and act on it (retsplejelovens § 115: no more
people than relevant). Every door asks this module - the web guard, the pages and the API, the
Teams card actions - so the rule is stated once.

An incident is visible to its participants (the activator, everyone alerted about it, meeting
invitees, those responsible for its measures and commitments) and to the SSP Sekretariat; one
that is not confidential also to everyone who may activate beredskab.

The people an incident concerns (``handleplaner.involved``: names, nicknames, age, area) are a
data class of their own with a narrower rule: only the SSP Sekretariat and the incident's own
activator may read, register or remove them (``may_read_involved``). Those alerted, invited or
responsible for a measure do their part without the names; the personal-data check uses them to
keep the names out of what is shared.

Anything else an id can name (a plan, a version, a measure's commitment, a meeting, an alert) is
reached *through its incident*: ``commitment_in(session, incident_id, commitment_id)`` answers
None both when the id does not exist and when it belongs to another incident, and
``visible_commitment(session, person_id, commitment_id)`` None also when the person may not see
its incident. A caller answers every None the same way, so an id tells nothing about a hidden
incident.

The decision runs the same statements whether the incident exists or not (``standing``): the
time it takes tells nothing either.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import column, exists, literal_column, or_, table
from sqlmodel import Session, select

from .commitments.models import Commitment
from .directory.models import ACTIVATING_KINDS, Group, Membership, Person
from .incidents import Incident
from .meetings.models import Meeting, MeetingInvitee
from .plans.models import Plan, PlanMeasure, PlanVersion

ACTIVATOR_ROLE = "activator"
SECRETARIAT_ROLE = "secretariat"
ROLES = (ACTIVATOR_ROLE, SECRETARIAT_ROLE)
SECRETARIAT_KIND = "sekretariat"  # the group kind of the SSP Sekretariat

NOWHERE = 0  # no row has this id: what the checks run against when there is none


def _key(value) -> int:
    """An id as the database can take it (32-bit INTEGER columns); anything else is NOWHERE."""
    return value if isinstance(value, int) and 0 < value < 2**31 else NOWHERE


# The alert tables belong to the notifications layer, which the domain does not import; the
# rule only needs who was alerted about which incident.
_alert = table("alert", column("id"), column("incident_id"))
_delivery = table("delivery", column("id"), column("incident_id"), column("person_id"))


@dataclass(frozen=True)
class Standing:
    """A person's standing towards one incident (which may not exist)."""
    incident: Incident | None
    secretariat: bool
    activator: bool
    participant: bool
    activated_it: bool = False  # the person opened this incident

    @property
    def may_read_involved(self) -> bool:
        """The involved people: the SSP Sekretariat and the incident's activator only."""
        return self.may_view and (self.secretariat or self.activated_it)

    @property
    def may_view(self) -> bool:
        if self.incident is None:
            return False
        if self.secretariat or self.participant:
            return True
        return self.activator and not self.incident.confidential

    def holds(self, role: str | None) -> bool:
        if role is None:
            return True
        if role == ACTIVATOR_ROLE:
            return self.activator
        if role == SECRETARIAT_ROLE:
            return self.secretariat
        raise ValueError(f"ukendt rolle {role!r}")


def _group_kinds(session: Session, person_id: str) -> set[str]:
    """The kinds of the active groups an active person belongs to (one statement)."""
    return set(session.exec(
        select(Group.kind).join(Membership, Membership.group_code == Group.code)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.person_id == person_id, Group.active == True,  # noqa: E712
               Person.active == True)))  # noqa: E712


def _takes_part(session: Session, person_id: str, incident_id: int) -> bool:
    """Alerted about it, invited to its meeting, or responsible for one of its measures or
    commitments (one statement)."""
    one = literal_column("1")
    parts = (
        select(one).select_from(_delivery).where(
            _delivery.c.incident_id == incident_id, _delivery.c.person_id == person_id),
        select(one).select_from(MeetingInvitee)
        .join(Meeting, Meeting.id == MeetingInvitee.meeting_id)
        .where(Meeting.incident_id == incident_id, MeetingInvitee.person_id == person_id),
        select(one).select_from(Commitment)
        .where(Commitment.incident_id == incident_id,
               or_(Commitment.responsible_id == person_id, Commitment.assigned_id == person_id)),
        select(one).select_from(PlanMeasure).join(Plan, Plan.id == PlanMeasure.plan_id)
        .where(Plan.incident_id == incident_id, PlanMeasure.responsible_id == person_id),
    )
    return bool(session.execute(select(or_(*(exists(part) for part in parts)))).scalar())


def standing(session: Session, person_id: str, incident_id: int | None) -> Standing:
    """Who the person is to the incident. Always the same three statements - the incident, the
    person's groups, their part in it - whether the incident exists, is hidden or is visible
    (given a session that has not loaded the incident already, as the doors' sessions have not)."""
    key = _key(incident_id)
    found = session.get(Incident, key)
    kinds = _group_kinds(session, person_id)
    participant = _takes_part(session, person_id, key)
    activated_it = found is not None and found.activated_by == person_id
    if activated_it:
        participant = True
    return Standing(incident=found, secretariat=SECRETARIAT_KIND in kinds,
                    activator=bool(kinds & ACTIVATING_KINDS), participant=participant,
                    activated_it=activated_it)


def may_view(session: Session, person_id: str, incident_id: int | None) -> bool:
    """May the person see the incident? False also when it does not exist."""
    return standing(session, person_id, incident_id).may_view


def may_act(session: Session, person_id: str, incident_id: int | None,
            role: str | None = None) -> bool:
    """May the person see the incident and hold ``role`` (None: any who may see it)?"""
    found = standing(session, person_id, incident_id)
    return found.may_view and found.holds(role)


def may_read_involved(session: Session, person_id: str, incident_id: int | None) -> bool:
    """May the person read (and register or remove) the people the incident concerns? Fewer
    than may see the incident: the SSP Sekretariat and the incident's activator."""
    return standing(session, person_id, incident_id).may_read_involved


def is_participant(session: Session, person_id: str, incident_id: int) -> bool:
    """Activated it, was alerted about it, is invited to its meeting, or is responsible for one
    of its measures or commitments."""
    return standing(session, person_id, incident_id).participant


def has_role(session: Session, person_id: str, role: str | None) -> bool:
    """Does the person hold ``role`` regardless of any incident?"""
    kinds = _group_kinds(session, person_id) if role is not None else set()
    return Standing(incident=None, secretariat=SECRETARIAT_KIND in kinds,
                    activator=bool(kinds & ACTIVATING_KINDS), participant=False).holds(role)


# -- what an id names, through its incident ----------------------------------------------------

def _incident_id(session: Session, query) -> int | None:
    return session.exec(query).first()


def incident_of(session: Session, kind: str, key: int | None) -> int | None:
    """The incident that a plan, plan version, meeting, alert or commitment (``kind``) belongs
    to, or None if there is none. One statement for every kind, found or not."""
    key = _key(key)
    queries = {
        "incident": select(Incident.id).where(Incident.id == key),
        "plan": select(Plan.incident_id).where(Plan.id == key),
        "version": select(Plan.incident_id).join(PlanVersion, PlanVersion.plan_id == Plan.id)
        .where(PlanVersion.id == key),
        "meeting": select(Meeting.incident_id).where(Meeting.id == key),
        "alert": select(_alert.c.incident_id).where(_alert.c.id == key),
        "delivery": select(_delivery.c.incident_id).where(_delivery.c.id == key),
        "commitment": select(Commitment.incident_id).where(Commitment.id == key),
    }
    return _incident_id(session, queries[kind])


def commitment_in(session: Session, incident_id: int, commitment_id: int | None
                  ) -> Commitment | None:
    """The commitment if it belongs to this incident; None if it does not exist or belongs to
    another."""
    found = session.get(Commitment, _key(commitment_id))
    return found if found is not None and found.incident_id == incident_id else None


def version_in(session: Session, incident_id: int, version_id: int | None) -> PlanVersion | None:
    """The plan version if it is a version of this incident's plan; None otherwise."""
    return session.exec(select(PlanVersion).join(Plan, Plan.id == PlanVersion.plan_id)
                        .where(PlanVersion.id == _key(version_id), Plan.incident_id == incident_id)
                        ).first()


def measure_in(session: Session, incident_id: int, commitment_id: int | None
               ) -> Commitment | None:
    """A measure's commitment, by its id, if it belongs to this incident (``commitment_in``)."""
    return commitment_in(session, incident_id, commitment_id)


def visible(session: Session, person_id: str | None, kind: str, key: int | None) -> int | None:
    """The incident a ``kind`` id belongs to, if the person may see it; None when the id does
    not exist, belongs to an incident the person may not see, or there is no person. The same
    statements run in every case."""
    incident_id = incident_of(session, kind, key)
    seen = standing(session, person_id or "", incident_id)
    return incident_id if person_id and seen.may_view else None


def visible_commitment(session: Session, person_id: str | None, commitment_id: int | None
                       ) -> Commitment | None:
    """The commitment, if the person may see its incident; None as for one that does not exist."""
    incident_id = visible(session, person_id, "commitment", commitment_id)
    return commitment_in(session, incident_id, commitment_id) if incident_id else None


def visible_version(session: Session, person_id: str | None, version_id: int | None
                    ) -> PlanVersion | None:
    """The plan version, if the person may see its incident; None as for one that does not
    exist."""
    incident_id = visible(session, person_id, "version", version_id)
    return version_in(session, incident_id, version_id) if incident_id else None
