"""Composing an alert about an incident: severity, a Danish text, an audience, and whether it
must be acknowledged (with a quorum and an escalation time). Follow-ups (opdatering,
normaldrift) go to everyone the alert they follow reached."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from sqlmodel import Session, select

from handleplaner.clock import utcnow
from handleplaner.directory import queries as directory
from handleplaner.directory.models import Person
from handleplaner.incidents import SEVERITIES, NotAllowed, get_incident, lock_incident
from handleplaner.incidents.outgoing import description_choice_error
from handleplaner.incidents.service import _danish_errors
from handleplaner.privacy.check import has_cpr
from handleplaner.privacy.sharing import check_for, field_errors, record_override

from .audiences import AudienceInvalid, AudienceSpec, resolve, spec_groups
from .channel_posts import enqueue_channel_posts, incident_channel_groups, parent_groups
from .models import ALERT_KINDS, Alert, Delivery
from .outbox import Accepted, enqueue_alert

TEXT_MAX = 2000
MERGE_WINDOW_S = 120  # the same alert again within this window is the same alert


class AlertInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class AlertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str = "besked"
    severity: str
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    audience: AudienceSpec | None = None
    parent_alert_id: int | None = Field(default=None, ge=1, le=2**31 - 1)  # a 32-bit id column
    requires_ack: bool = False
    quorum_per_authority: int | None = Field(default=None, ge=1, le=50)
    escalate_after_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    post_in_channels: bool = False  # also post in the chosen groups' Teams channels
    include_description: bool = Field(
        default=False,
        description="Send hændelsens beskrivelse med varslet, under teksten. Afvises for en "
                    "fortrolig hændelse.")
    names_reason: str = Field(
        default="", max_length=500,
        description="Begrundelse for at sende teksten (og beskrivelsen) trods mulige navne på "
                    "personer; skrives i hændelsesloggen.")
    _overridden: list = PrivateAttr(default_factory=list)  # warnings the reason overrides

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in ALERT_KINDS or value in ("aktivering", "godkendelse", "sikkerby", "opgaver", "moede"):
            raise ValueError("ukendt varseltype (besked, opdatering eller normaldrift)")
        return value

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError("ukendt alvorlighed")
        return value


def parse_alert(data: Mapping[str, Any], *, incident=None,
                session: Session | None = None) -> AlertRequest:
    """Validate an alert request; with the ``incident``, also whether its description may be
    chosen (never a confidential incident's), and with a ``session`` the personal-data check of
    what it sends (the text, and the description if chosen): CPR numbers and registered or
    directory people refuse it, likely names unless ``names_reason`` is given."""
    try:
        request = AlertRequest.model_validate(dict(data))
    except ValidationError as error:
        raise AlertInvalid(_danish_errors(error)) from None
    errors = {}
    if request.kind == "besked" and request.audience is None:
        errors["audience"] = "vælg modtagere"
    if request.escalate_after_minutes and not request.requires_ack:
        errors["escalate_after_minutes"] = "eskalering kræver, at varslet skal kvitteres"
    if request.quorum_per_authority and not request.requires_ack:
        errors["quorum_per_authority"] = "kvorum kræver, at varslet skal kvitteres"
    if incident is not None:
        refused = description_choice_error(confidential=incident.confidential,
                                           chosen=request.include_description)
        if refused:
            errors["include_description"] = refused
    if session is not None and incident is not None:
        found = check_for(session, incident.id)
        found.text("varseltekst", request.text)
        places = {"varseltekst": "text"}
        if request.include_description and not incident.confidential:
            found.text("beskrivelse", incident.description)
            places["beskrivelse"] = "include_description"
        for field, message in field_errors(found, places, reason=request.names_reason).items():
            errors.setdefault(field, message)
        request._overridden = found.warnings
    elif has_cpr(request.text):
        errors["text"] = ("varsler må ikke indeholde CPR-numre; personoplysninger hører hjemme "
                          "i hændelsen og handleplanen")
    if errors:
        raise AlertInvalid(errors)
    return request


def may_compose(session: Session, person_id: str) -> bool:
    """The secretariat, the styregruppe and the ledergrupper (those who may activate)."""
    return directory.may_activate(session, person_id)


def original_audience(session: Session, alert: Alert) -> list[Person]:
    """Everyone the alert reached, escalation included, each once."""
    ids = set(session.exec(select(Delivery.person_id).where(Delivery.alert_id == alert.id)))
    people = session.exec(select(Person).where(Person.id.in_(ids), Person.active == True))  # noqa: E712
    return sorted(people, key=lambda p: (p.name, p.id))


def _root_alert(session: Session, incident_id: int, *, first: bool = False) -> Alert | None:
    """The alert a follow-up follows: an update follows the latest alert, normaldrift the first
    (the activation)."""
    order = (Alert.created_at, Alert.id) if first else (Alert.created_at.desc(), Alert.id.desc())
    return session.exec(select(Alert).where(Alert.incident_id == incident_id,
                                            Alert.parent_alert_id.is_(None))
                        .order_by(*order)).first()


def everyone_alerted(session: Session, incident_id: int) -> list[Person]:
    """Everyone any alert about the incident reached: the audience of normaldrift."""
    ids = set(session.exec(select(Delivery.person_id).where(Delivery.incident_id == incident_id)))
    people = session.exec(select(Person).where(Person.id.in_(ids), Person.active == True))  # noqa: E712
    return sorted(people, key=lambda p: (p.name, p.id))


def dedupe_key(incident_id: int, request: AlertRequest, parent_id: int | None,
               moment: datetime) -> str:
    bucket = int(moment.timestamp()) // MERGE_WINDOW_S
    material = "|".join([str(incident_id), request.kind, request.severity, request.text,
                         request.audience.to_json() if request.audience else "",
                         str(parent_id), str(request.requires_ack),
                         str(request.quorum_per_authority), str(request.escalate_after_minutes),
                         str(request.include_description), str(bucket)])
    return "varsel:" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def resolve_audience(session: Session, incident_id: int, request: AlertRequest
                     ) -> tuple[list[Person], Alert | None]:
    parent = None
    if request.kind in ("opdatering", "normaldrift"):
        parent = (session.get(Alert, request.parent_alert_id) if request.parent_alert_id
                  else _root_alert(session, incident_id, first=request.kind == "normaldrift"))
        if parent is None or parent.incident_id != incident_id:
            raise AlertInvalid({"parent_alert_id": "der er intet tidligere varsel at følge op på"})
        if request.audience is None:
            if request.kind == "normaldrift" and not request.parent_alert_id:
                return everyone_alerted(session, incident_id), parent
            return original_audience(session, parent), parent
    try:
        return resolve(session, request.audience), parent
    except AudienceInvalid as invalid:
        raise AlertInvalid(invalid.errors) from None


def compose_alert(session: Session, *, incident_id: int, actor_id: str,
                  data: Mapping[str, Any], now: datetime | None = None) -> Accepted:
    """Validate and accept an alert in the caller's transaction; nothing is written on error."""
    moment = now or utcnow()
    if not may_compose(session, actor_id):
        raise NotAllowed("Kun SSP-styregruppen, SSP Sekretariatet og SSP-ledergrupperne kan "
                         "sende varsler.")
    incident = get_incident(session, incident_id)
    if incident is None:
        raise AlertInvalid({"incident": "hændelsen findes ikke"})
    request = parse_alert(data, incident=incident, session=session)
    audience, parent = resolve_audience(session, incident_id, request)
    if not audience:
        raise AlertInvalid({"audience": "modtagervalget giver ingen personer"})
    lock_incident(session, incident_id)
    accepted = enqueue_alert(
        session, incident_id=incident_id, kind=request.kind, severity=request.severity,
        exercise=incident.exercise, title=f"{ALERT_KINDS[request.kind]}: {incident.title}",
        body=request.text, audience=audience, actor_id=actor_id,
        dedupe_key=dedupe_key(incident_id, request, parent.id if parent else None, moment),
        now=moment, requires_ack=request.requires_ack,
        quorum_per_authority=request.quorum_per_authority,
        escalate_after_s=(int(request.escalate_after_minutes * 60)
                          if request.escalate_after_minutes else None),
        parent_alert_id=parent.id if parent else None,
        with_description=request.include_description,
        audience_spec=request.audience.to_json() if request.audience else "{}")
    if not accepted.merged:
        groups = parent_groups(session, accepted.alert) if parent else set()
        if request.kind == "normaldrift" and not request.parent_alert_id:
            groups |= incident_channel_groups(session, incident_id)
        if request.post_in_channels and request.audience is not None:
            groups |= spec_groups(session, request.audience)
        enqueue_channel_posts(session, accepted.alert, groups, moment)
        record_override(session, incident_id=incident_id, actor_id=actor_id,
                        reason=request.names_reason, findings=request._overridden,
                        what="varsel", now=moment)
    return accepted
