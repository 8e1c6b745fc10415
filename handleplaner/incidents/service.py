"""Activating beredskab: validating the request, opening the incident, recording it.

Keyword-only functions on an explicit session, no network I/O. The caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from sqlalchemy import func
from sqlmodel import Session, select

from .. import record
from ..clock import dansk, to_utc, utcnow
from ..directory import queries as directory
from .kinds import DESCRIPTION_MAX, INCIDENT_TYPES, SEVERITIES, TITLE_MAX
from .models import Incident, IncidentArea
from .states import transition


class NotAllowed(Exception):
    """The person may not do this; nothing was written."""


class ActivationInvalid(Exception):
    """The request has errors; ``errors`` maps each field to a Danish message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ActivationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    incident_type: str
    title: str = Field(min_length=3, max_length=TITLE_MAX)
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    severity: str
    occurred_at: datetime
    areas: list[str] = Field(default_factory=list, max_length=50)
    whole_city: bool = False
    exercise: bool = False
    confidential: bool = False
    include_description: bool = Field(
        default=False,
        description="Send hændelsens beskrivelse med aktiveringens varsel (ellers kun "
                    "hændelsens fakta). Afvises for en fortrolig hændelse.")
    involved: list[dict] = Field(
        default_factory=list, max_length=20,
        description="De personer, hændelsen angår (navn, kaldenavne, alder, område, rolle: "
                    "ung, pårørende, vidne eller anden). Kun SSP Sekretariatet og den, der "
                    "aktiverer, kan se dem.")
    names_reason: str = Field(
        default="", max_length=500,
        description="Begrundelse for at sende overskriften (og beskrivelsen) trods mulige navne "
                    "på personer; skrives i hændelsesloggen.")
    # Set by check_activation: the involved people validated, and the warnings the reason
    # overrides.
    _involved: list = PrivateAttr(default_factory=list)
    _overridden: list = PrivateAttr(default_factory=list)

    @field_validator("incident_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in INCIDENT_TYPES:
            raise ValueError("ukendt hændelsestype")
        return value

    @field_validator("severity")
    @classmethod
    def _known_severity(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError("ukendt alvorlighed")
        return value


_DANISH = {
    "missing": "skal udfyldes",
    "string_too_short": "er for kort",
    "string_too_long": "er for lang (højst {max_length} tegn)",
    "too_long": "har for mange valg",
    "datetime_parsing": "er ikke et gyldigt tidspunkt",
    "datetime_from_date_parsing": "er ikke et gyldigt tidspunkt",
    "datetime_type": "er ikke et gyldigt tidspunkt",
    "bool_parsing": "skal være ja eller nej",
    "bool_type": "skal være ja eller nej",
    "list_type": "skal være en liste",
    "string_type": "skal være tekst",
    "extra_forbidden": "kendes ikke",
}


def _danish_errors(error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "_"
        if problem["type"] == "value_error":
            message = str(problem["ctx"]["error"])
        else:
            template = _DANISH.get(problem["type"], "er ugyldig")
            message = template.format(**problem.get("ctx", {}))
        errors.setdefault(field, message)
    return errors


def parse_activation(data: Mapping[str, Any], *, known_areas: set[str],
                     now: datetime | None = None) -> ActivationRequest:
    """Validate an activation request; raise ``ActivationInvalid`` with every problem."""
    try:
        request = ActivationRequest.model_validate(dict(data))
    except ValidationError as error:
        errors = _danish_errors(error)
        request = None
    else:
        errors = {}
    raw_areas = data.get("areas") or []
    if isinstance(raw_areas, list):
        # Entries that are not text are the model's errors (a dict in the list must not crash).
        unknown = [a for a in raw_areas if isinstance(a, str) and a not in known_areas]
        if unknown:
            errors.setdefault("areas", "ukendt område: " + ", ".join(map(str, unknown)))
    if request is not None and not request.whole_city and not request.areas:
        errors.setdefault("areas", "vælg mindst ét område eller 'hele byen'")
    if request is not None:
        from .outgoing import description_choice_error

        refused = description_choice_error(confidential=request.confidential,
                                           chosen=request.include_description)
        if refused:
            errors["include_description"] = refused
    if request is not None and "occurred_at" not in errors:
        moment = to_utc(request.occurred_at)
        current = now or utcnow()
        if moment > current + timedelta(hours=1):
            errors["occurred_at"] = "tidspunktet ligger i fremtiden"
        elif moment < current - timedelta(days=30):
            errors["occurred_at"] = "tidspunktet ligger mere end 30 dage tilbage"
    if errors:
        raise ActivationInvalid(errors)
    return request


def next_reference(session: Session, moment: datetime, kind: str = "H") -> str:
    """H-2026-0001 for incidents, B-2026-0001 for planned events: numbered per year."""
    year = moment.year
    prefix = f"{kind}-{year}-"
    taken = session.exec(
        select(func.count()).select_from(Incident).where(Incident.reference.like(prefix + "%"))
    ).one()
    return f"{prefix}{taken + 1:04d}"


@dataclass(frozen=True)
class Activation:
    incident: Incident
    area_codes: list[str]
    include_description: bool = False  # the activator chose to send the description


def check_activation(session: Session, *, actor_id: str, data: Mapping[str, Any],
                     now: datetime | None = None) -> tuple[ActivationRequest, list[str]]:
    """Who asks and what they ask: the request and the area codes it covers. Raises
    ``NotAllowed`` for anyone outside the styregruppe, the secretariat and the ledergrupper,
    and ``ActivationInvalid`` for a bad request. Writes nothing."""
    if not directory.may_activate(session, actor_id):
        raise NotAllowed("Kun SSP-styregruppen, SSP Sekretariatet og SSP-ledergrupperne "
                         "kan aktivere beredskabet.")
    known = set(directory.area_codes(session))
    request = parse_activation(data, known_areas=known, now=now)
    _check_shared_text(session, request, known)
    return request, sorted(known) if request.whole_city else sorted(set(request.areas))


def _check_shared_text(session: Session, request: ActivationRequest, known: set[str]) -> None:
    """The involved people named in the request, and the personal-data check of what the
    activation sends: the title, and the description if it is chosen. Raises
    ``ActivationInvalid`` naming each field."""
    from ..involved.service import InvolvedInvalid, parse_involved
    from ..privacy.check import Check
    from ..privacy.sharing import directory_names, field_errors

    errors: dict[str, str] = {}
    people = []
    for index, item in enumerate(request.involved):
        try:
            people.append(parse_involved(item, known_areas=known))
        except InvolvedInvalid as invalid:
            errors.update({f"involved[{index}].{k}": v for k, v in invalid.errors.items()})
    names = [n for p in people for n in [p["name"], *p["nicknames"]]]
    found = Check(registered=tuple(names), directory=directory_names(session))
    found.text("titel", request.title)
    places = {"titel": "title"}
    if request.include_description and not request.confidential:
        found.text("beskrivelse", request.description)
        places["beskrivelse"] = "description"
    errors.update(field_errors(found, places, reason=request.names_reason))
    if errors:
        raise ActivationInvalid(errors)
    request._involved = people
    request._overridden = found.warnings


def activate(session: Session, *, actor_id: str, data: Mapping[str, Any],
             now: datetime | None = None) -> Activation:
    """Open an incident in the caller's transaction, after ``check_activation``; nothing is
    written if that refuses."""
    request, areas = check_activation(session, actor_id=actor_id, data=data, now=now)
    current = now or utcnow()
    incident = Incident(
        reference=next_reference(session, current),
        incident_type=request.incident_type,
        title=request.title,
        description=request.description,
        severity=request.severity,
        occurred_at=to_utc(request.occurred_at),
        activated_at=current,
        activated_by=actor_id,
        exercise=request.exercise,
        confidential=request.confidential,
        whole_city=request.whole_city,
        state=transition(None, "aktiver"),
    )
    session.add(incident)
    session.flush()
    for code in areas:
        session.add(IncidentArea(incident_id=incident.id, area_code=code))
    record.append(
        session, incident_id=incident.id, actor_id=actor_id, action="beredskab.aktiveret",
        at=current,
        summary=(f"{'ØVELSE: ' if request.exercise else ''}Beredskab aktiveret: "
                 f"{INCIDENT_TYPES[request.incident_type]} ({SEVERITIES[request.severity]}), "
                 f"sket {dansk(incident.occurred_at)}"),
        data={"reference": incident.reference, "type": request.incident_type,
              "severity": request.severity, "areas": areas, "whole_city": request.whole_city,
              "exercise": request.exercise, "confidential": request.confidential,
              "include_description": request.include_description},
    )
    if request._involved:
        from ..involved.service import register_at_activation

        register_at_activation(session, incident_id=incident.id, actor_id=actor_id,
                               people=request._involved, now=current)
    if request._overridden:
        from ..privacy.sharing import record_override

        record_override(session, incident_id=incident.id, actor_id=actor_id,
                        reason=request.names_reason, findings=request._overridden,
                        what="aktiveringens varsel", now=current)
    return Activation(incident=incident, area_codes=areas,
                      include_description=request.include_description)


CLOSED = "beredskab.afsluttet"  # the record entry that closes an incident; retention counts from it


def close_incident(session: Session, *, incident_id: int, actor_id: str,
                   now: datetime | None = None) -> Incident:
    """The secretariat closes the incident (normaldrift), in the caller's transaction.

    The record entry's time is when the incident was closed: the retention of its personal data
    is counted from it. Raises ``NotAllowed`` for anyone else and ``TransitionRefused`` if the
    incident is already closed; nothing is written then."""
    moment = now or utcnow()
    if not directory.is_secretariat(session, actor_id):
        raise NotAllowed("Kun SSP Sekretariatet kan afslutte beredskabet.")
    incident = lock_incident(session, incident_id)
    if incident is None:
        raise LookupError(f"Hændelse {incident_id} findes ikke.")
    before = incident.state
    incident.state = transition(before, "afslut")
    session.add(incident)
    record.append(session, incident_id=incident_id, actor_id=actor_id, action=CLOSED, at=moment,
                  summary="Beredskabet afsluttet (normaldrift)",
                  data={"from": before, "state": incident.state})
    return incident


def get_incident(session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id)


def lock_incident(session: Session, incident_id: int) -> Incident | None:
    """Load the incident with a row lock (PostgreSQL) so record appends stay in sequence."""
    return session.exec(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).first()


def incident_areas(session: Session, incident_id: int) -> list[str]:
    return list(session.exec(
        select(IncidentArea.area_code).where(IncidentArea.incident_id == incident_id)
        .order_by(IncidentArea.area_code)
    ))


def list_incidents(session: Session, *, limit: int = 100) -> list[Incident]:
    return list(session.exec(select(Incident).order_by(Incident.activated_at.desc()).limit(limit)))
