"""Commitments follow the plan: sending a version gives each measure a commitment for its
authority's responsible leader, who confirms, declines (with a reason) or hands it over, and then
reports on it (started, done, blocked with a reason). Every press is recorded; the same press
twice changes nothing; a press by anyone else, or on a superseded version, is refused."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, select

from .. import record
from ..clock import utcnow
from ..directory import queries as directory
from ..incidents import Incident, lock_incident
from ..plans.models import Plan, PlanMeasure, PlanVersion
from ..plans.service import usual_responsible
from .models import COMMITMENT_STATES, Commitment

# action -> (states it may come from, state it leads to)
ACTIONS = {
    "bekraeft": ({"afventer", "videregivet", "afvist"}, "bekraeftet"),
    "afvis": ({"afventer", "videregivet"}, "afvist"),
    "videregiv": ({"afventer", "videregivet", "bekraeftet", "i_gang", "blokeret"}, "videregivet"),
    "startet": ({"bekraeftet", "blokeret"}, "i_gang"),
    "udfoert": ({"bekraeftet", "i_gang", "blokeret"}, "udfoert"),
    "blokeret": ({"bekraeftet", "i_gang"}, "blokeret"),
}
ACTION_LABELS = {"bekraeft": "bekræftede", "afvis": "afviste", "videregiv": "videregav",
                 "startet": "meldte i gang", "udfoert": "meldte udført", "blokeret": "meldte blokeret"}
NOTE_MAX = 1000


class CommitmentRefused(Exception):
    """Not this person's to press, not possible now, or missing a reason; recorded if a stranger."""


class NotYours(CommitmentRefused):
    """Pressed by someone who is not the responsible leader: refused, and recorded by the caller
    (``record_refusal``) in its own transaction, so the refusal is not rolled back with it."""


def record_refusal(session: Session, *, incident_id: int, commitment_id: int, person_id: str,
                   action: str, via: str, now: datetime | None = None) -> None:
    """Record a refused press in the incident's record - only if the commitment is this
    incident's: a refusal is never written into another incident's record."""
    c = session.get(Commitment, commitment_id)
    if c is None or c.incident_id != incident_id:
        return
    person = directory.get_person(session, person_id)
    owner = directory.get_person(session, c.responsible_id) if c.responsible_id else None
    lock_incident(session, c.incident_id)
    record.append(session, incident_id=c.incident_id, actor_id=person_id,
                  action="opgave.tryk_afvist", at=now or utcnow(),
                  summary=(f"{person.name if person else person_id} trykkede '{action}' på "
                           f"'{{titel}}', som er {owner.name if owner else 'ingens'} opgave; afvist"),
                  data={"commitment_id": c.id, "action": action, "via": via},
                  detail={"titel": c.title})


class SupersededVersion(CommitmentRefused):
    def __init__(self, current: int):
        super().__init__(f"Kortet hører til en tidligere version af planen. Version {current} er "
                         "den gældende; brug kortet for den.")
        self.current = current


def sync_with_version(session: Session, version: PlanVersion, now: datetime | None = None
                      ) -> list[Commitment]:
    """After a version is sent: new measures get commitments; a measure whose authority or
    leader changed starts over (afventer); removed measures are 'udgået'. Returns those that
    need the leader's (new) confirmation."""
    moment = now or utcnow()
    plan = session.get(Plan, version.plan_id)
    existing = {c.measure_key: c for c in session.exec(
        select(Commitment).where(Commitment.plan_id == plan.id))}
    pending = []
    seen = set()
    for m in session.exec(select(PlanMeasure).where(PlanMeasure.plan_id == plan.id)):
        seen.add(m.key)
        owner = m.responsible_id or usual_responsible(session, plan.incident_id, m.authority_code)
        c = existing.get(m.key)
        if c is None:
            c = Commitment(plan_id=plan.id, incident_id=plan.incident_id, version_id=version.id,
                           measure_key=m.key, title=m.title, authority_code=m.authority_code,
                           responsible_id=owner, assigned_id=owner, starts_at=m.starts_at,
                           ends_at=m.ends_at,
                           updated_at=moment, updated_by=record.SYSTEM)
            pending.append(c)
        else:
            reassigned = (c.authority_code, c.assigned_id) != (m.authority_code, owner)
            if reassigned or c.state == "udgaaet":
                c.state, c.confirmed_at, c.confirmed_by, c.reason = "afventer", None, None, ""
                c.responsible_id = c.assigned_id = owner
                pending.append(c)
            elif c.state in ("afventer", "videregivet"):
                pending.append(c)
            c.version_id, c.title, c.authority_code = version.id, m.title, m.authority_code
            c.starts_at, c.ends_at = m.starts_at, m.ends_at
            c.updated_at = moment
        session.add(c)
    for key, c in existing.items():
        if key not in seen and c.state != "udgaaet":
            c.state, c.version_id, c.updated_at = "udgaaet", version.id, moment
            session.add(c)
    session.flush()
    return pending


def _hold(session: Session, commitment_id: int) -> Commitment | None:
    """Lock the commitment's incident (as ``lock_incident`` does), then read the commitment as
    it stands: two presses at once (a double tap, a retry, two replicas) are decided one after
    the other, never both on the state before either. PostgreSQL locks the incident's row;
    SQLite has a single writer, so the press takes the write lock first (a write that changes
    nothing), else its reads would come before the other press's commit."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(text("UPDATE commitment SET id = id WHERE id = :id"),
                                     {"id": commitment_id})
    incident = session.exec(select(Incident).join(Commitment, Commitment.incident_id == Incident.id)
                            .where(Commitment.id == commitment_id)
                            .with_for_update(of=Incident)).first()
    if incident is None:
        return None
    return session.get(Commitment, commitment_id, populate_existing=True)


@dataclass
class Pressed:
    commitment: Commitment
    changed: bool  # False: the same press again, nothing new


def press(session: Session, *, commitment_id: int, version_id: int | None, person_id: str,
          action: str, reason: str = "", note: str = "", hand_to: str | None = None,
          via: str = "teams", now: datetime | None = None) -> Pressed:
    moment = now or utcnow()
    c = _hold(session, commitment_id) if action in ACTIONS else None
    if c is None:
        raise CommitmentRefused("Opgaven eller handlingen findes ikke.")
    person = directory.get_person(session, person_id)
    if person is None or person_id != c.responsible_id:
        owner = directory.get_person(session, c.responsible_id) if c.responsible_id else None
        raise NotYours(f"Opgaven '{c.title}' er ikke din; den ansvarlige er "
                       f"{owner.name if owner else 'ikke udpeget'}.")
    current = session.exec(select(PlanVersion).where(PlanVersion.plan_id == c.plan_id)
                           .order_by(PlanVersion.number.desc())).first()
    if version_id is not None and current is not None and version_id != current.id:
        raise SupersededVersion(current.number)
    allowed_from, target = ACTIONS[action]
    reason, note = (reason or "").strip(), (note or "").strip()
    if len(reason) > NOTE_MAX or len(note) > NOTE_MAX:
        raise CommitmentRefused(f"Teksten er for lang (højst {NOTE_MAX} tegn).")
    if action in ("afvis", "blokeret") and not reason:
        raise CommitmentRefused("Skriv en begrundelse.")
    if c.state == target and action != "videregiv":
        return Pressed(commitment=c, changed=False)  # the same press twice
    if c.state not in allowed_from:
        raise CommitmentRefused(f"Opgaven er '{COMMITMENT_STATES[c.state]}'; "
                                f"det kan ikke ændres sådan.")
    summary_extra = ""
    if action == "videregiv":
        receiver = directory.get_person(session, hand_to) if hand_to else directory.deputy_of(session, person_id)
        if receiver is None or not receiver.active or receiver.id == person_id:
            raise CommitmentRefused("Vælg en kollega eller din suppleant at videregive til.")
        c.responsible_id = receiver.id
        c.confirmed_at = c.confirmed_by = None
        summary_extra = f" til {receiver.name}"
    if action == "bekraeft":
        c.confirmed_at, c.confirmed_by = moment, person_id
    c.state = target
    c.reason = reason if action in ("afvis", "blokeret") else ""
    if note:
        c.note = note
    c.updated_at, c.updated_by = moment, person_id
    session.add(c)
    record.append(session, incident_id=c.incident_id, actor_id=person_id,
                  action=f"opgave.{target}", at=moment,
                  summary=(f"{person.name} ({c.authority_code}) {ACTION_LABELS[action]} "
                           f"'{{titel}}'{summary_extra}"
                           # the texts are personal data kept on the commitment (retention
                           # anonymises them there); the record only says they were given
                           + ("; begrundelse angivet" if reason else "")
                           + ("; note tilføjet" if note else "")),
                  data={"commitment_id": c.id, "action": action, "via": via,
                        "state": target, "to": c.responsible_id},
                  detail={"titel": c.title})
    return Pressed(commitment=c, changed=True)


def of_authority(session: Session, plan_id: int, authority: str) -> list[Commitment]:
    return list(session.exec(select(Commitment).where(
        Commitment.plan_id == plan_id, Commitment.authority_code == authority,
        Commitment.state != "udgaaet").order_by(Commitment.starts_at, Commitment.id)))


def of_person(session: Session, person_id: str) -> list[Commitment]:
    return list(session.exec(select(Commitment).where(
        Commitment.responsible_id == person_id, Commitment.state != "udgaaet")
        .order_by(Commitment.ends_at)))


def board(session: Session, plan_id: int, now: datetime | None = None) -> list[dict]:
    """Every commitment with its authority, leader, confirmation and status; overdue first."""
    moment = now or utcnow()
    rows = []
    commitments = list(session.exec(select(Commitment).where(Commitment.plan_id == plan_id)))
    leaders = directory.people_by_id(session, {c.responsible_id for c in commitments})
    for c in commitments:
        leader = leaders.get(c.responsible_id)
        overdue = c.state not in ("udfoert", "udgaaet") and c.ends_at < moment
        rows.append({"commitment_id": c.id, "measure": c.measure_key, "title": c.title,
                     "authority": c.authority_code,
                     "leader": {"id": leader.id, "name": leader.name} if leader else None,
                     "state": c.state, "state_label": COMMITMENT_STATES[c.state],
                     "confirmed": c.confirmed_at is not None,
                     "confirmed_at": c.confirmed_at.isoformat() if c.confirmed_at else None,
                     "confirmed_by": c.confirmed_by, "reason": c.reason, "note": c.note,
                     "starts_at": c.starts_at.isoformat(), "ends_at": c.ends_at.isoformat(),
                     "overdue": overdue})
    return sorted(rows, key=lambda r: (not r["overdue"], r["authority"], r["ends_at"]))
