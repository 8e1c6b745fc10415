"""Appending to and reading the incident record.

There is deliberately no function that changes or removes an entry, and the ORM refuses to:
an UPDATE or DELETE of a ``RecordEntry`` raises ``RecordIsAppendOnly``.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from typing import Any

from sqlalchemy import event, func
from sqlmodel import Session, select

from ..clock import utcnow
from .models import RecordEntry

GENESIS = "0" * 64
SYSTEM = "system"


class RecordIsAppendOnly(Exception):
    pass


@event.listens_for(RecordEntry, "before_update")
def _refuse_update(*_args):
    raise RecordIsAppendOnly("Hændelsesloggen kan ikke ændres")


@event.listens_for(RecordEntry, "before_delete")
def _refuse_delete(*_args):
    raise RecordIsAppendOnly("Hændelsesloggen kan ikke slettes")


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(*, incident_id: int, seq: int, at: datetime, actor_id: str, action: str,
               summary: str, data: str, prev_hash: str) -> str:
    canonical = json.dumps(
        [incident_id, seq, _utc_iso(at), actor_id, action, summary, data, prev_hash],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(session: Session, *, incident_id: int, actor_id: str, action: str, summary: str,
           data: dict[str, Any] | None = None, at: datetime | None = None) -> RecordEntry:
    """Add one entry to the incident's record in the caller's transaction.

    The caller holds the incident row lock (``lock_incident``) so two writers cannot take the
    same sequence number; the unique constraint catches it if one forgets.
    """
    last = session.exec(
        select(RecordEntry)
        .where(RecordEntry.incident_id == incident_id)
        .order_by(RecordEntry.seq.desc())
        .limit(1)
    ).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    moment = at or utcnow()
    payload = json.dumps(data or {}, ensure_ascii=False, sort_keys=True, default=str)
    entry = RecordEntry(
        incident_id=incident_id, seq=seq, at=moment, actor_id=actor_id, action=action,
        summary=summary, data=payload, prev_hash=prev,
        hash=entry_hash(incident_id=incident_id, seq=seq, at=moment, actor_id=actor_id,
                        action=action, summary=summary, data=payload, prev_hash=prev),
    )
    session.add(entry)
    session.flush()
    return entry


def entries(session: Session, incident_id: int) -> list[RecordEntry]:
    return list(session.exec(
        select(RecordEntry).where(RecordEntry.incident_id == incident_id).order_by(RecordEntry.seq)
    ))


def count(session: Session, incident_id: int, action: str | None = None) -> int:
    query = select(func.count()).select_from(RecordEntry).where(
        RecordEntry.incident_id == incident_id)
    if action:
        query = query.where(RecordEntry.action == action)
    return session.exec(query).one()


def verify_chain(session: Session, incident_id: int) -> RecordEntry | None:
    """Return the first entry whose hash or link does not hold, or None if the chain is whole."""
    prev = GENESIS
    for expected_seq, entry in enumerate(entries(session, incident_id), start=1):
        recomputed = entry_hash(incident_id=entry.incident_id, seq=entry.seq, at=entry.at,
                                actor_id=entry.actor_id, action=entry.action,
                                summary=entry.summary, data=entry.data, prev_hash=entry.prev_hash)
        if entry.seq != expected_seq or entry.prev_hash != prev or entry.hash != recomputed:
            return entry
        prev = entry.hash
    return None


def as_dict(entry: RecordEntry) -> dict[str, Any]:
    return {
        "incident_id": entry.incident_id, "seq": entry.seq, "at": _utc_iso(entry.at),
        "actor_id": entry.actor_id, "action": entry.action, "summary": entry.summary,
        "data": json.loads(entry.data), "prev_hash": entry.prev_hash, "hash": entry.hash,
    }
