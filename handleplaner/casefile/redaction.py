"""What the aktindsigt copy leaves out, and how (the rule is set out in ``handleplaner.casefile``).

``Keep`` passes everything through (the sagsakt for journalisering); ``Redact`` removes third
parties' personal data and counts what it removed, by kind, never keeping the removed values.
Every piece of the case file goes through one of four doors: ``row`` (a database row),
``snapshot`` (a frozen plan version), ``json`` (anything else built from the material) and
``text`` (one string).
"""
from __future__ import annotations

import copy
import io
import re
from collections import Counter
from typing import Any

from sqlmodel import Session, SQLModel, select

from ..directory.models import Person
from ..personal_data import REDACTED, SNAPSHOT_MARKED, locate, personal_fields, redacted
from ..privacy.check import CPR as CPR_FOUND
from ..privacy.check import REGISTRERET, find_personal_data, redact_personal_data
from ..retention import MARKER as RETENTION_MARKER
from .material import Material

REMOVED = "[fjernet]"

# A marked value is looked for as a copy in other text when it has at least this many characters;
# one longer than COPY_PREFIX is also found when only its beginning was copied (a record summary
# that quotes the first 200 characters of a decision, a measure titled after a decision).
COPY_MIN = 8
COPY_PREFIX = 40

FIELD, COPY, CPR, NAME, PERSON = "felt", "kopi", "cpr", "navn", "person"
KIND_LABELS = {
    FIELD: "Felter markeret som personoplysninger",
    COPY: "Kopier af markerede oplysninger i anden tekst (fx hændelsesloggen)",
    CPR: "CPR-numre",
    NAME: "Navne på fortrolige personer",
    PERSON: "Henvisninger (id) til fortrolige personer",
}

# SHA-256 hashes of the record and the manifest, and the record anchors' key ids (16 hex
# digits), stay: they are not text, and one in a few hundred holds ten digits that look like a
# CPR number.
_DIGEST = re.compile(r"[0-9a-f]{64}|[0-9a-f]{16}")


class Keep:
    """The full case file: everything as it is."""

    aktindsigt = False

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def row(self, row: SQLModel) -> dict:
        return row.model_dump()

    def snapshot(self, snapshot: dict) -> dict:
        return snapshot

    def json(self, value: Any) -> Any:
        return value

    def text(self, value: str) -> str:
        return value


def protected_people(session: Session, material: Material) -> tuple[set[str], list[str]]:
    """(ids, names) of the people the aktindsigt copy does not name: the responsible person of a
    measure marked confidential (now or in a sent version, and its commitment's owner), and names
    in a snapshot's ``confidential_people`` that are not a person in the directory."""
    ids: set[str] = set()
    extra_names: set[str] = set()
    for found in material.plans:
        confidential = {m.key for m in found.measures if m.confidential}
        ids |= {m.responsible_id for m in found.measures if m.confidential and m.responsible_id}
        for snapshot in found.snapshots.values():
            for measure in snapshot.get("measures") or []:
                if measure.get("confidential"):
                    confidential.add(measure.get("key"))
                    person_id = (measure.get("responsible") or {}).get("id")
                    if person_id:
                        ids.add(person_id)
            extra_names |= {str(name).strip() for name in snapshot.get("confidential_people") or []}
        for commitment in material.commitments:
            if commitment.plan_id == found.plan.id and commitment.measure_key in confidential:
                ids |= {p for p in (commitment.responsible_id, commitment.assigned_id) if p}
    names = {person.name for person in (material.person(session, i) for i in ids) if person}
    # The people the incident concerns: their names and nicknames are third parties' data.
    for person in material.involved:
        names |= {n for n in [person.name, *person.nickname_list]
                  if isinstance(n, str) and n.strip() and not RETENTION_MARKER.fullmatch(n)}
    # Names frozen in a snapshot that are no longer in the directory (one query for them all);
    # retention's marker where a name was anonymised is not a name.
    extra_names = {n for n in extra_names if n and not RETENTION_MARKER.fullmatch(n)}
    if extra_names:
        extra_names -= set(session.exec(select(Person.name).where(Person.name.in_(extra_names))))
    return ids, sorted(names | extra_names, key=len, reverse=True)


class Redact(Keep):
    """The aktindsigt copy: marked fields, copies of them, CPR numbers and confidential people out."""

    aktindsigt = True

    def __init__(self, session: Session, material: Material) -> None:
        super().__init__()
        self.ids, self.names = protected_people(session, material)
        values: set[str] = set()
        for row in material.marked_rows():
            for name in personal_fields(type(row)):
                value = getattr(row, name)
                for item in value if isinstance(value, list) else [value]:
                    values.add(str(item or ""))
        for found in material.plans:
            for snapshot in found.snapshots.values():
                for path in SNAPSHOT_MARKED:
                    values |= {str(c[k] or "") for c, k in locate(snapshot, path)}
        self.values = sorted({v.strip() for v in values if len(v.strip()) >= COPY_MIN},
                             key=len, reverse=True)

    # -- the doors ------------------------------------------------------------------------------
    def row(self, row: SQLModel) -> dict:
        marked = set(personal_fields(type(row)))
        self.counts[FIELD] += sum(1 for name in marked if getattr(row, name))
        data = redacted(row, REDACTED)
        return {key: value if key in marked else self.json(value) for key, value in data.items()}

    def snapshot(self, snapshot: dict) -> dict:
        result = copy.deepcopy(snapshot)
        for path in SNAPSHOT_MARKED:
            for container, key in locate(result, path):
                if container.get(key):
                    container[key] = REDACTED
                    self.counts[FIELD] += 1
        result = self.json(result)
        result["confidential_people"] = [n for n in result.get("confidential_people") or []
                                         if n != REMOVED]
        label = result.get("kind_label") or "Handleplan"
        result["kind_label"] = f"{label} – aktindsigtskopi"
        return result

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.json(item) for item in value]
        return value

    def text(self, value: str) -> str:
        if not value or value == REDACTED or _DIGEST.fullmatch(value):
            return value
        if value in self.ids:
            self.counts[PERSON] += 1
            return REMOVED
        value = self._copies(value)
        value, found = redact_personal_data(value, confidential_names=self.names,
                                            replacement=REMOVED)
        self.counts[CPR] += found.get("cpr", 0)
        self.counts[NAME] += found.get("navn", 0)
        return value

    # -- copies of marked values ----------------------------------------------------------------
    def _copies(self, text: str) -> str:
        for value in self.values:
            probe = value[:COPY_PREFIX]
            if probe not in text:
                continue
            out, position, start = [], 0, text.find(probe)
            while start != -1:
                end, matched = start + len(probe), len(probe)
                while matched < len(value) and end < len(text) and text[end] == value[matched]:
                    end, matched = end + 1, matched + 1
                starts_word = start == 0 or not text[start - 1].isalnum()
                whole = matched == len(value) and (end == len(text) or not text[end].isalnum())
                if starts_word and (len(probe) == COPY_PREFIX or whole):
                    out += [text[position:start], REMOVED]
                    position = end
                    self.counts[COPY] += 1
                    start = text.find(probe, end)
                else:
                    start = text.find(probe, start + 1)
            text = "".join(out) + text[position:]
        return text


def removed_lines(counts: Counter[str]) -> list[str]:
    """'CPR-numre: 3' for each kind (zero included), in a fixed order, for the README."""
    return [f"{label}: {counts.get(kind, 0)}" for kind, label in KIND_LABELS.items()]


# -- the check before the copy is handed out ---------------------------------------------------
def _strings(value: Any):
    if isinstance(value, str):
        if not _DIGEST.fullmatch(value):  # hashes are not text (and may look like numbers)
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _file_texts(path: str, content: bytes):
    """The texts a reader of the file sees: a PDF's extracted text, JSON's string values (one
    per line in .jsonl), else the file as text."""
    import json

    if path.endswith(".pdf"):
        from pypdf import PdfReader

        yield "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
        return
    body = content.decode("utf-8")
    if path.endswith((".json", ".jsonl")):
        for line in body.splitlines() if path.endswith(".jsonl") else [body]:
            if line.strip():
                yield from _strings(json.loads(line))
        return
    yield body


def leftovers(files: dict[str, bytes], names: list[str]) -> list[str]:
    """Every file of the aktindsigt copy, checked with the one personal-data detector for CPR
    numbers and the protected people's names: 'file: what' for each found (never the value)."""
    found = []
    for path, content in files.items():
        for text in _file_texts(path, content):
            for finding in find_personal_data(text, confidential_names=names):
                if finding.kind in (CPR_FOUND, REGISTRERET):
                    found.append(f"{path}: {finding.label}")
    return list(dict.fromkeys(found))
