"""The record anchored outside the database: signed heads of every incident's hash chain.

An anchor is (incident, its reference, entry count, last position, head hash, time) signed with
an Ed25519 key that is not in the database (``signing``). Anchors are appended, one JSON object a
line, to the anchor file, which belongs on other storage than the database, and each journal
export carries its incident's anchors. Someone who can rewrite the database cannot sign, so what
the chain held when it was anchored can be shown afterwards (``verify``).

``Anchorer.run`` is the scheduled job: an incident is signed when its head has moved since its
last anchor and it has none yet, was closed, or was last anchored ``every`` ago. It first checks
the chain and every earlier anchor of the incident, and signs nothing it cannot vouch for (a
rewritten record is reported, not blessed). Anchoring writes nothing to the database: an entry
about it would move the head it signs.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Mapping

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..clock import utcnow
from ..incidents.models import Incident
from . import verify
from .service import verify_chain
from .signing import Ed25519PrivateKey, Ed25519PublicKey, key_id, signature_valid

log = logging.getLogger("record.anchors")

VERSION = 1
CLOSED_STATE = "afsluttet"
FIELDS = ("v", "incident_id", "reference", "entries", "seq", "head", "at", "key")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Anchor:
    incident_id: int
    reference: str
    entries: int
    seq: int
    head: str
    at: datetime
    key: str  # signing.key_id of the public key that checks it
    signature: str = ""  # base64

    def payload(self) -> dict:
        return {"v": VERSION, "incident_id": self.incident_id, "reference": self.reference,
                "entries": self.entries, "seq": self.seq, "head": self.head,
                "at": _iso(self.at), "key": self.key}

    def message(self) -> bytes:
        """The bytes that are signed: the payload as canonical JSON."""
        return json.dumps(self.payload(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")

    def as_dict(self) -> dict:
        return {**self.payload(), "signature": self.signature}

    def line(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"


def sign(key: Ed25519PrivateKey, *, incident_id: int, reference: str, entries: int, seq: int,
         head: str, at: datetime) -> Anchor:
    unsigned = Anchor(incident_id, reference, entries, seq, head, at, key_id(key))
    signature = base64.b64encode(key.sign(unsigned.message())).decode("ascii")
    return Anchor(incident_id, reference, entries, seq, head, at, unsigned.key, signature)


class AnchorInvalid(ValueError):
    """A line that is not a valid signed anchor; the message (Danish) says why."""


def parse(data: Mapping, keys: Mapping[str, Ed25519PublicKey]) -> Anchor:
    """An anchor from its JSON object, its signature checked with the key it names."""
    if not isinstance(data, Mapping) or any(name not in data for name in (*FIELDS, "signature")):
        raise AnchorInvalid("er ikke et anker (felter mangler)")
    try:
        at = datetime.fromisoformat(str(data["at"]))
        anchor = Anchor(int(data["incident_id"]), str(data["reference"]), int(data["entries"]),
                        int(data["seq"]), str(data["head"]), at, str(data["key"]),
                        str(data["signature"]))
        signature = base64.b64decode(anchor.signature, validate=True)
    except (TypeError, ValueError, binascii.Error):
        raise AnchorInvalid("er ikke et anker (et felt har forkert form)") from None
    if at.tzinfo is None or data["v"] != VERSION:
        raise AnchorInvalid("er ikke et anker i kendt format")
    key = keys.get(anchor.key)
    if key is None:
        raise AnchorInvalid(f"er signeret med en ukendt nøgle (id {anchor.key[:16]})")
    if not signature_valid(key, signature, anchor.message()):
        raise AnchorInvalid("har en signatur, der ikke passer: linjen er ændret eller forfalsket")
    return anchor


@dataclass
class AnchorFile:
    """The anchors of a file whose signatures hold, and a Danish line per line that is wrong."""

    path: Path
    exists: bool = False
    anchors: list[Anchor] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, incident_id: int) -> list[Anchor]:
        return [a for a in self.anchors if a.incident_id == incident_id]


def _read_lines(path: Path, keys: Mapping[str, Ed25519PublicKey], start: int, into: AnchorFile,
                first_line: int = 1) -> tuple[int, int]:
    """Parse the complete lines from byte offset ``start``; (new offset, next line number)."""
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read()
    end = data.rfind(b"\n") + 1  # a line still being written is read next time
    number = first_line
    for raw in data[:end].splitlines():
        if raw.strip():
            try:
                into.anchors.append(parse(json.loads(raw.decode("utf-8")), keys))
            except (AnchorInvalid, ValueError) as problem:
                reason = problem if isinstance(problem, AnchorInvalid) else "er ikke JSON"
                into.problems.append(f"{path.name} linje {number} {reason}")
        number += 1
    return start + end, number


def read_anchors(path: Path, keys: Mapping[str, Ed25519PublicKey]) -> AnchorFile:
    found = AnchorFile(Path(path))
    if found.path.is_file():
        found.exists = True
        _read_lines(found.path, keys, 0, found)
    return found


def append_anchors(path: Path, anchors: Iterable[Anchor]) -> None:
    """Append the anchors to the file in one write, and wait until they are on disk."""
    text = "".join(anchor.line() for anchor in anchors).encode("utf-8")
    if not text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(descriptor, text)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass
class AnchorRun:
    signed: list[Anchor] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (reference, why), Danish


class Anchorer:
    """Signs incidents' heads into the anchor file and remembers what the file holds (read
    again from where it stopped when another process has appended to it)."""

    def __init__(self, path: Path, key: Ed25519PrivateKey, *, every: timedelta,
                 also_valid: Mapping[str, Ed25519PublicKey] | None = None) -> None:
        self.path, self.key, self.every = Path(path), key, every
        self.keys = {**(also_valid or {}), key_id(key): key.public_key()}
        self.file = AnchorFile(self.path)
        self._offset, self._line = 0, 1
        self._lock = threading.RLock()  # the job's thread and exports share one Anchorer

    def refresh(self) -> AnchorFile:
        with self._lock:
            return self._refresh()

    def _refresh(self) -> AnchorFile:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._offset:  # replaced or cut: read it all again
            self.file, self._offset, self._line = AnchorFile(self.path), 0, 1
        if size > self._offset:
            self.file.exists = True
            self._offset, self._line = _read_lines(self.path, self.keys, self._offset,
                                                   self.file, self._line)
        return self.file

    def _vouch(self, session: Session, incident: Incident) -> str | None:
        """Why this incident's head must not be signed, or None."""
        broken = verify_chain(session, incident.id)
        if broken is not None:
            return f"hash-kæden er brudt ved {broken}"
        check = verify.compare(session, incident.id, self.file.of(incident.id))
        return "; ".join(str(f) for f in check.findings) or None

    def _sign(self, incident: Incident, now: datetime) -> Anchor:
        return sign(self.key, incident_id=incident.id, reference=incident.reference,
                    entries=incident.record_seq, seq=incident.record_seq,
                    head=incident.record_head, at=now)

    def due(self, session: Session, now: datetime) -> list[Incident]:
        newest = {}
        for anchor in self.file.anchors:
            if anchor.incident_id not in newest or anchor.at >= newest[anchor.incident_id].at:
                newest[anchor.incident_id] = anchor
        chosen = []
        for incident in session.exec(select(Incident).where(Incident.record_seq > 0)
                                     .order_by(Incident.id)):
            last = newest.get(incident.id)
            if last and (last.seq, last.head) == (incident.record_seq, incident.record_head):
                continue
            if last is None or incident.state == CLOSED_STATE or now - last.at >= self.every:
                chosen.append(incident)
        return chosen

    def run(self, engine: Engine, now: datetime | None = None) -> AnchorRun:
        """Sign every incident that is due; the scheduled job runs this in a thread."""
        now = now or utcnow()
        self.refresh()
        outcome = AnchorRun()
        with Session(engine) as session:
            for incident in self.due(session, now):
                why = self._vouch(session, incident)
                if why:
                    outcome.refused.append((incident.reference, why))
                    log.error("record anchor refused for %s: %s", incident.reference, why)
                else:
                    outcome.signed.append(self._sign(incident, now))
        self.commit(outcome.signed)
        return outcome

    def anchor_now(self, session: Session, incident_id: int,
                   now: datetime | None = None) -> Anchor | None:
        """Sign one incident's head now (a journal export), unless it cannot be vouched for."""
        self.refresh()
        incident = session.get(Incident, incident_id)
        if incident is None or incident.record_seq == 0 or self._vouch(session, incident):
            return None
        anchor = self._sign(incident, now or utcnow())
        self.commit([anchor])
        return anchor

    def commit(self, anchors: list[Anchor]) -> None:
        with self._lock:
            append_anchors(self.path, anchors)
            self._refresh()
