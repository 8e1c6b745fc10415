"""Registering and removing the people an incident concerns.

Keyword-only functions on an explicit session; the caller commits. Every door (the incident page,
the activation form, the JSON API, the bot's "involveret" command) goes through ``register`` and
``remove``, which ask the access policy (``access.may_read_involved``). Each step is written to
the incident's record without the name - "Involveret person registreret (ung)" - so the record
holds no names.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlmodel import Session, select

from .. import access, record
from ..clock import utcnow
from ..directory import queries as directory
from ..incidents import lock_incident
from .models import (AGE_MAX, NAME_MAX, NICKNAME_MAX, NICKNAMES_MAX, ROLE_ALIASES, ROLES,
                     InvolvedPerson)

REGISTERED = "involveret.registreret"
REMOVED = "involveret.fjernet"
FIELDS = ("name", "nicknames", "age", "area", "role")
LABELS = {"name": "Navn", "nicknames": "Kaldenavne", "age": "Alder", "area": "Område",
          "role": "Rolle"}


class InvolvedRefused(Exception):
    """The person may not do this; nothing was written."""


class InvolvedInvalid(Exception):
    """The request has errors; ``errors`` maps each field to a Danish message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _nicknames(value: Any) -> list[str] | None:
    """A list of nicknames from a list or from text separated by commas; None if neither."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def parse_involved(data: Mapping[str, Any], *, known_areas: set[str]) -> dict[str, Any]:
    """Validate one involved person (name required; nicknames, age, area and role optional,
    role "ung" by default). Raises ``InvolvedInvalid`` with every problem, in Danish."""
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        errors[unknown[0]] = "kendes ikke"
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "skal udfyldes"
        name = ""
    elif len(name.strip()) > NAME_MAX:
        errors["name"] = f"er for langt (højst {NAME_MAX} tegn)"
    nicknames = _nicknames(data.get("nicknames"))
    if nicknames is None:
        errors["nicknames"] = "skal være en liste af tekster"
        nicknames = []
    elif len(nicknames) > NICKNAMES_MAX:
        errors["nicknames"] = f"højst {NICKNAMES_MAX} kaldenavne"
    elif any(len(n) > NICKNAME_MAX for n in nicknames):
        errors["nicknames"] = f"et kaldenavn er for langt (højst {NICKNAME_MAX} tegn)"
    age = data.get("age")
    if age in (None, ""):
        age = None
    else:
        try:
            age = int(str(age).strip()) if not isinstance(age, bool) else None
        except ValueError:
            age = None
        if age is None or not 0 <= age <= AGE_MAX:
            errors["age"] = f"skal være et helt tal mellem 0 og {AGE_MAX}"
    area = data.get("area")
    if area in (None, ""):
        area = None
    elif not isinstance(area, str) or area not in known_areas:
        errors["area"] = "ukendt område"
    role = data.get("role") or "ung"
    role = ROLE_ALIASES.get(str(role).strip().lower(), str(role).strip().lower())
    if role not in ROLES:
        errors["role"] = "skal være ung, pårørende, vidne eller anden"
    if errors:
        raise InvolvedInvalid(errors)
    return {"name": " ".join(name.split()), "nicknames": nicknames, "age": age,
            "area_code": area, "role": role}


def _require(session: Session, actor_id: str, incident_id: int) -> None:
    if not access.may_read_involved(session, actor_id, incident_id):
        raise InvolvedRefused("Kun SSP Sekretariatet og den, der aktiverede beredskabet, kan "
                              "registrere involverede personer.")


def register(session: Session, *, incident_id: int, actor_id: str, data: Mapping[str, Any],
             now: datetime | None = None) -> InvolvedPerson:
    """Register one person the incident concerns, in the caller's transaction. Raises
    ``InvolvedRefused`` or ``InvolvedInvalid``; nothing is written then."""
    _require(session, actor_id, incident_id)
    values = parse_involved(data, known_areas=set(directory.area_codes(session)))
    return _add(session, incident_id=incident_id, actor_id=actor_id, values=values,
                now=now or utcnow())


def register_at_activation(session: Session, *, incident_id: int, actor_id: str,
                           people: list[dict[str, Any]], now: datetime) -> list[InvolvedPerson]:
    """The people named on the activation form, already validated (``parse_involved``), added
    by the activator in the activation's transaction."""
    _require(session, actor_id, incident_id)
    return [_add(session, incident_id=incident_id, actor_id=actor_id, values=values, now=now)
            for values in people]


def _add(session: Session, *, incident_id: int, actor_id: str, values: dict[str, Any],
         now: datetime) -> InvolvedPerson:
    lock_incident(session, incident_id)
    person = InvolvedPerson(incident_id=incident_id, created_by=actor_id, created_at=now,
                            **values)
    session.add(person)
    session.flush()
    record.append(session, incident_id=incident_id, actor_id=actor_id, action=REGISTERED,
                  at=now, summary=f"Involveret person registreret ({person.role_label.lower()})",
                  data={"involved_id": person.id, "role": person.role})
    return person


def remove(session: Session, *, incident_id: int, involved_id: int | None, actor_id: str,
           now: datetime | None = None) -> None:
    """Remove a registered person (the row goes; the record keeps only that one was removed).
    An id of another incident is answered as one that does not exist (``LookupError``)."""
    _require(session, actor_id, incident_id)
    valid = isinstance(involved_id, int) and not isinstance(involved_id, bool) \
        and 0 < involved_id < 2**31
    person = session.get(InvolvedPerson, involved_id) if valid else None
    if person is None or person.incident_id != incident_id:
        raise LookupError("Den involverede person findes ikke.")
    lock_incident(session, incident_id)
    role = person.role
    session.delete(person)
    session.flush()
    record.append(session, incident_id=incident_id, actor_id=actor_id, action=REMOVED,
                  at=now or utcnow(),
                  summary=f"Involveret person fjernet ({ROLES.get(role, role).lower()})",
                  data={"involved_id": involved_id, "role": role})


def listed(session: Session, incident_id: int) -> list[InvolvedPerson]:
    """The incident's involved people, in the order they were registered. The caller has asked
    ``access.may_read_involved``."""
    return list(session.exec(select(InvolvedPerson).where(
        InvolvedPerson.incident_id == incident_id).order_by(InvolvedPerson.id)))


def names_of(session: Session, incident_id: int | None) -> list[str]:
    """Every name and nickname registered on the incident, each once: what the personal-data
    check looks for, and what forgetting must remove."""
    if incident_id is None:
        return []
    names: list[str] = []
    for person in listed(session, incident_id):
        if isinstance(person.name, str) and person.name.strip():
            names.append(person.name.strip())
        names.extend(person.nickname_list)
    return list(dict.fromkeys(names))


def as_json(person: InvolvedPerson) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "nicknames": person.nickname_list,
            "age": person.age, "area": person.area_code, "role": person.role,
            "role_label": person.role_label, "created_by": person.created_by,
            "created_at": person.created_at.isoformat() if person.created_at else None}
