"""Appending to and reading the incident record.

There is deliberately no function that changes or removes an entry. The ORM refuses to (an
UPDATE or DELETE of a ``RecordEntry`` raises ``RecordIsAppendOnly``) and so does the database
(triggers, migration 0008). Each entry's hash covers the one before it, and the newest hash is
kept on the incident, so a changed, removed or reordered entry, the last one included, is found by
``verify_chain``.

An entry's personal part (``detail=``: free text such as a measure's title or a reason) is
encrypted under the incident's key (``keys``) and the hash covers the ciphertext; the clear
``summary`` names where each value goes ("Indsats tilføjet: {titel} (SOF)"). ``readable`` puts
them together while the key exists, and ``keys.SHREDDED`` in their place once retention has
destroyed it. Entries from before the personal part existed have no ``detail`` and hash as
before.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event, func
from sqlmodel import Session, select

from ..clock import utcnow
from ..incidents.models import Incident
from . import keys
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
               summary: str, data: str, prev_hash: str, detail: str | None = None) -> str:
    fields = [incident_id, seq, _utc_iso(at), actor_id, action, summary, data, prev_hash]
    if detail is not None:  # the ciphertext of the personal part; older entries have none
        fields.append(detail)
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(session: Session, *, incident_id: int, actor_id: str, action: str, summary: str,
           data: dict[str, Any] | None = None, at: datetime | None = None,
           detail: dict[str, Any] | None = None) -> RecordEntry:
    """Add one entry to the incident's record in the caller's transaction.

    ``summary`` and ``data`` are the clear part: no free text. Free text (a title, a reason, a
    location) goes in ``detail``, by name, and ``summary`` says where with ``{name}``; it is
    stored encrypted under the incident's key (see the module).

    The caller holds the incident row lock (``lock_incident``) so two writers cannot take the
    same sequence number; the unique constraint catches it if one forgets.
    """
    item = dict(actor_id=actor_id, action=action, summary=summary, data=data, at=at,
                detail=detail)
    return append_many(session, incident_id, [item])[0]


def append_many(session: Session, incident_id: int,
                items: list[dict[str, Any]]) -> list[RecordEntry]:
    """Add several entries to one incident's record at once, in the caller's transaction: the
    same entries as ``append`` one by one, read the head once and written in one flush (the
    delivery worker writes many outcomes together). Each item holds ``append``'s keywords:
    actor_id, action, summary, and optionally data, at and detail. The caller holds the incident
    lock."""
    if not items:
        return []
    last = session.exec(  # the number and hash only: an entry's data can be long
        select(RecordEntry.seq, RecordEntry.hash)
        .where(RecordEntry.incident_id == incident_id)
        .order_by(RecordEntry.seq.desc())
        .limit(1)
    ).first()
    seq = last.seq if last else 0
    prev = last.hash if last else GENESIS
    added = []
    for item in items:
        seq += 1
        moment = item.get("at") or utcnow()
        payload = json.dumps(item.get("data") or {}, ensure_ascii=False, sort_keys=True,
                             default=str)
        summary, sealed = _personal_part(session, incident_id, seq, item, moment)
        entry = RecordEntry(
            incident_id=incident_id, seq=seq, at=moment, actor_id=item["actor_id"],
            action=item["action"], summary=summary, data=payload, detail=sealed, prev_hash=prev,
            hash=entry_hash(incident_id=incident_id, seq=seq, at=moment, actor_id=item["actor_id"],
                            action=item["action"], summary=summary, data=payload,
                            prev_hash=prev, detail=sealed),
        )
        session.add(entry)
        added.append(entry)
        prev = entry.hash
    incident = session.get(Incident, incident_id)
    if incident is not None:
        incident.record_seq, incident.record_head = seq, prev
        session.add(incident)
    session.flush()
    return added


def _personal_part(session: Session, incident_id: int, seq: int, item: dict[str, Any],
                   moment: datetime) -> tuple[str, str | None]:
    """(clear summary, sealed personal part) of one item. An incident whose key is destroyed
    gets no personal part any more: the summary shows the shredded marker in its place."""
    detail = item.get("detail")
    if not detail:
        return item["summary"], None
    if keys.destroyed(session, incident_id):
        return _fill(item["summary"], None), None
    key = keys.key_for(session, incident_id, create=True, now=moment)
    return item["summary"], keys.seal(key, detail, incident_id=incident_id, seq=seq,
                                      action=item["action"])


_SLOT = re.compile(r"\{([a-z_]+)\}")


def _fill(summary: str, detail: dict[str, Any] | None) -> str:
    def value(match: re.Match) -> str:
        if detail is None:
            return keys.SHREDDED
        found = detail.get(match.group(1))
        if found is None:
            return match.group(0)
        return ", ".join(map(str, found)) if isinstance(found, list) else str(found)
    return _SLOT.sub(value, summary)


def personal(session: Session, entry: RecordEntry) -> dict[str, Any] | None:
    """The entry's personal part, decrypted; None when it has none or its key is destroyed
    (``shredded`` tells the two apart)."""
    if not entry.detail:
        return None
    key = keys.key_for(session, entry.incident_id)
    if key is None:
        return None
    try:
        return keys.unseal(key, entry.detail, incident_id=entry.incident_id, seq=entry.seq,
                           action=entry.action)
    except ValueError:
        return None


def shredded(session: Session, entry: RecordEntry) -> bool:
    """The entry had a personal part that can no longer be read."""
    return bool(entry.detail) and personal(session, entry) is None


def readable(session: Session, entry: RecordEntry) -> str:
    """What the entry says, for people: the clear summary with the personal part in its places
    while the incident's key exists, and ``keys.SHREDDED`` there after retention."""
    if not entry.detail:
        return entry.summary
    return _fill(entry.summary, personal(session, entry))


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


@dataclass(frozen=True)
class ChainBreak:
    """Where the record stops holding: the first entry (by number) that is wrong or missing."""

    incident_id: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"post {self.seq}: {self.reason}"


def verify_chain(session: Session, incident_id: int) -> ChainBreak | None:
    """Return the first break in the incident's record, or None if the chain is whole."""
    prev = GENESIS
    last_seq = 0
    for expected_seq, entry in enumerate(entries(session, incident_id), start=1):
        recomputed = entry_hash(incident_id=entry.incident_id, seq=entry.seq, at=entry.at,
                                actor_id=entry.actor_id, action=entry.action,
                                summary=entry.summary, data=entry.data, prev_hash=entry.prev_hash,
                                detail=entry.detail)
        if entry.seq != expected_seq:
            return ChainBreak(incident_id, expected_seq, "posten mangler")
        if entry.prev_hash != prev:
            return ChainBreak(incident_id, entry.seq, "hænger ikke sammen med posten før")
        if entry.hash != recomputed:
            return ChainBreak(incident_id, entry.seq, "indholdet er ændret")
        prev, last_seq = entry.hash, entry.seq
    incident = session.get(Incident, incident_id)
    if incident is not None and (incident.record_seq, incident.record_head) != (last_seq, prev):
        if incident.record_seq > last_seq:
            return ChainBreak(incident_id, last_seq + 1, "posten mangler")
        return ChainBreak(incident_id, incident.record_seq, "loggens hoved stemmer ikke")
    return None


def as_dict(entry: RecordEntry, session: Session | None = None) -> dict[str, Any]:
    """The entry as JSON. With a session, ``summary`` is what it says (``readable``) and
    ``personal`` its decrypted personal part; ``clear_summary`` and ``detail`` (the ciphertext)
    are what the hash covers."""
    result = {
        "incident_id": entry.incident_id, "seq": entry.seq, "at": _utc_iso(entry.at),
        "actor_id": entry.actor_id, "action": entry.action, "summary": entry.summary,
        "data": json.loads(entry.data), "prev_hash": entry.prev_hash, "hash": entry.hash,
        "clear_summary": entry.summary, "detail": entry.detail,
    }
    if session is not None:
        result["summary"] = readable(session, entry)
        result["personal"] = personal(session, entry)
        result["personal_shredded"] = shredded(session, entry)
    return result
