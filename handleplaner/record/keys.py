"""The personal part of record entries, encrypted under a data key per incident (crypto-shredding).

A record entry says what was done in two parts: the clear part (the kind of action, who, when,
ids and counts; no free text) and the personal part (free text copied from titles, descriptions,
reasons and comments). The personal part is stored encrypted with AES-GCM under a key kept per
incident and data class in ``record_key``; the entry's hash covers the ciphertext. Retention
destroys the key when the incident's personal data falls due (``forget_record_personal_data``):
the text can then never be read again, and the chain still verifies, since nothing in the entry
changed. Reading an entry after that shows ``SHREDDED``.

The key lives in the database, beside what it protects: destroying it forgets the text in the
database; backups taken before keep it until they expire (docs/access-and-privacy.md).
"""
from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from ..clock import utcnow

RECORD = "haendelseslog"  # the data class: the personal part of the incident's record entries
SHREDDED = "[personoplysninger slettet efter slettefristen]"
PREFIX = "aesgcm1:"
NONCE_BYTES = 12
_CACHE = "record_keys"  # session.info: (incident_id, data class) -> key or None


class RecordKey(SQLModel, table=True):
    """One incident's data key for one data class; ``key`` is None once destroyed."""

    __tablename__ = "record_key"
    __table_args__ = (UniqueConstraint("incident_id", "data_class", name="uq_record_key_class"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    data_class: str = Field(max_length=32)
    key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime
    destroyed_at: datetime | None = None


def _cache(session: Session) -> dict:
    return session.info.setdefault(_CACHE, {})


def _row(session: Session, incident_id: int, data_class: str) -> RecordKey | None:
    return session.exec(select(RecordKey).where(RecordKey.incident_id == incident_id,
                                                RecordKey.data_class == data_class)).first()


def key_for(session: Session, incident_id: int, data_class: str = RECORD, *,
            create: bool = False, now: datetime | None = None) -> bytes | None:
    """The incident's key for the data class; with ``create`` a new one is made if there is
    none (the caller holds the incident lock). None when there is none, or it was destroyed."""
    cache = _cache(session)
    if (incident_id, data_class) in cache and (cache[(incident_id, data_class)] or not create):
        return cache[(incident_id, data_class)]
    row = _row(session, incident_id, data_class)
    if row is None and create:
        row = RecordKey(incident_id=incident_id, data_class=data_class,
                        key=AESGCM.generate_key(bit_length=256), created_at=now or utcnow())
        session.add(row)
        session.flush()
    key = row.key if row is not None else None
    cache[(incident_id, data_class)] = key
    return key


def destroyed(session: Session, incident_id: int, data_class: str = RECORD) -> bool:
    row = _row(session, incident_id, data_class)
    return row is not None and row.key is None


def _aad(incident_id: int, seq: int, action: str) -> bytes:
    # Binds the ciphertext to its entry: it cannot be moved to another entry or incident.
    return f"{incident_id}:{seq}:{action}".encode("utf-8")


def seal(key: bytes, detail: dict[str, Any], *, incident_id: int, seq: int, action: str) -> str:
    """The personal part as text: 'aesgcm1:' and base64 of nonce + ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(incident_id, seq, action))
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, token: str, *, incident_id: int, seq: int, action: str) -> dict[str, Any]:
    """The personal part back; ``ValueError`` if it is not ours or was changed."""
    if not token.startswith(PREFIX):
        raise ValueError("ukendt format")
    raw = base64.b64decode(token[len(PREFIX):])
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                    _aad(incident_id, seq, action))
    except InvalidTag:
        raise ValueError("kan ikke dekrypteres med hændelsens nøgle") from None
    return json.loads(plain.decode("utf-8"))


def forget_record_personal_data(session: Session, incident_id: int,
                                now: datetime | None = None) -> int:
    """Destroy the incident's data keys (every data class): the personal parts of its record
    entries can never be read again. Returns how many keys were destroyed (0 if none were
    left). The caller holds the incident lock."""
    rows = session.exec(select(RecordKey).where(RecordKey.incident_id == incident_id,
                                                RecordKey.key.is_not(None))).all()
    for row in rows:
        row.key, row.destroyed_at = None, now or utcnow()
        session.add(row)
        _cache(session)[(incident_id, row.data_class)] = None
    session.flush()
    return len(rows)


def live_keys(session: Session, incident_id: int) -> int:
    """How many of the incident's keys still exist (what ``forget_record_personal_data`` would
    destroy)."""
    return len(session.exec(select(RecordKey.id).where(RecordKey.incident_id == incident_id,
                                                       RecordKey.key.is_not(None))).all())
