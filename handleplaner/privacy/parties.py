"""Who gets the full version and who the shareable one (retsplejelovens § 115).

The fixed SSP parties - BUF, SOF, KFF, BIF, the police, Kriminalforsorgen and the SSP
Sekretariat (``Authority.fixed_party``, and Kriminalforsorgen as SSP partner) - share personal
data among themselves when crime prevention needs it. Any other party (Team Sikker By,
Hovedstadens Beredskab, a neighbouring municipality ...) gets the version without personal data,
the Team Sikker By version, unless the secretariat has recorded a § 115 reason for sharing more
with that party on the incident (``record_full_sharing``, written to the record too).
``shares_full`` is the one question the doors that build invitations and plan mails ask, and
``sees_full`` the same question about a person (the pages and documents they open).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from .. import record
from ..clock import utcnow
from ..directory.models import Authority, Person
from ..personal_data import PERSONAL

SSP_PARTNERS = frozenset({"KRIM"})  # an SSP partner, though not a fixed party at the meeting
FULL_SHARING = "deling.fuld_begrundet"
REASON_MAX = 1000


class FullSharing(SQLModel, table=True):
    """A § 115 reason recorded by the secretariat for sharing the full version with a party
    outside the SSP parties, on one incident."""
    __tablename__ = "full_sharing"
    __table_args__ = (UniqueConstraint("incident_id", "authority_code",
                                       name="uq_full_sharing_party"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    authority_code: str = Field(max_length=16)
    reason: str = Field(sa_column=Column(Text, nullable=False, info=PERSONAL))
    created_by: str = Field(foreign_key="directory_person.id", max_length=32)
    created_at: datetime


class SharingInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _authority_of(session: Session, party) -> str:
    """The authority code of a party: a code, a Person, or anything with ``authority_code``."""
    if isinstance(party, str):
        return party
    return str(getattr(party, "authority_code", "") or "")


def is_ssp_party(session: Session, party) -> bool:
    """One of the fixed SSP parties or an SSP partner."""
    code = _authority_of(session, party)
    if code in SSP_PARTNERS:
        return True
    authority = session.get(Authority, code) if code else None
    return bool(authority is not None and authority.fixed_party)


def shares_full(session: Session, incident, party) -> bool:
    """May ``party`` (an authority code, a person or an invitee) get the full version of the
    incident's texts and plan? The SSP parties may; others only with a recorded § 115 reason."""
    if is_ssp_party(session, party):
        return True
    code = _authority_of(session, party)
    incident_id = getattr(incident, "id", incident)
    return session.exec(select(FullSharing.id).where(
        FullSharing.incident_id == incident_id, FullSharing.authority_code == code)
    ).first() is not None


def sees_full(session: Session, person, incident) -> bool:
    """Does this person (a ``Person`` or an id) see the incident's full texts - its description,
    the people it concerns, the full plan - or only the shareable version (the Team Sikker By
    version)? The person's party decides (``shares_full``): the SSP parties see the full one,
    anyone else only with a § 115 reason recorded for their party. The one question the pages,
    the documents and the messages to a person ask; an unknown person sees the shareable one."""
    if isinstance(person, str):
        person = session.get(Person, person)
    if person is None or not getattr(person, "authority_code", ""):
        return False
    return shares_full(session, incident, person)


def record_full_sharing(session: Session, *, incident_id: int, authority_code: str,
                        reason: str, actor_id: str, now: datetime | None = None) -> FullSharing:
    """The secretariat records why a party outside the SSP parties may get the full version;
    written to the incident's record with the reason. Raises ``SharingInvalid`` (Danish)."""
    from ..directory import queries as directory
    from ..incidents import lock_incident

    errors: dict[str, str] = {}
    if not directory.is_secretariat(session, actor_id):
        errors["_"] = "kun SSP Sekretariatet kan begrunde deling med en ekstern part"
    authority = session.get(Authority, authority_code or "")
    if authority is None:
        errors["authority"] = "ukendt part"
    elif is_ssp_party(session, authority_code):
        errors["authority"] = "parten er en af SSP-parterne og får allerede den fulde version"
    text = " ".join((reason or "").split())
    if not text:
        errors["reason"] = "skriv begrundelsen efter retsplejelovens § 115"
    elif len(text) > REASON_MAX:
        errors["reason"] = f"er for lang (højst {REASON_MAX} tegn)"
    if errors:
        raise SharingInvalid(errors)
    moment = now or utcnow()
    lock_incident(session, incident_id)
    row = session.exec(select(FullSharing).where(FullSharing.incident_id == incident_id,
                                                 FullSharing.authority_code == authority_code)
                       ).first()
    if row is None:
        row = FullSharing(incident_id=incident_id, authority_code=authority_code, reason=text,
                          created_by=actor_id, created_at=moment)
    else:
        row.reason, row.created_by, row.created_at = text, actor_id, moment
    session.add(row)
    session.flush()
    record.append(session, incident_id=incident_id, actor_id=actor_id, action=FULL_SHARING,
                  at=moment, summary=f"Fuld deling med {authority.name} begrundet (§ 115): {{begrundelse}}",
                  data={"authority": authority_code}, detail={"begrundelse": text})
    return row


def party_of(session: Session, person_id: str) -> str:
    person = session.get(Person, person_id)
    return person.authority_code if person is not None else ""
