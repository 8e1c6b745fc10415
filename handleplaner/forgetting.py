"""Forgetting an incident completely: what retention does besides anonymising the marked fields.

People write names into free text: a measure called "Samtale med Mads og hans mor", minutes that
name the brothers, an alert text with a CPR number. When an incident's period is reached,
retention (``handleplaner.retention``) therefore also

1. scrubs every free-text column of every row that belongs to the incident - in every table,
   JSON documents (the frozen plan versions, an alert's audience) included - with the one
   personal-data detector (``privacy.check.redact_personal_data``): the registered people's
   names and nicknames (any case, genitive) and CPR numbers in every shape become
   ``SCRUBBED``. The directory's people are the authorities' staff and keep their names;
2. deletes the registered people (``involved_person``) when their own period is reached
   (``involved.RETENTION_MONTHS``), after their names were scrubbed;
3. destroys the incident's record keys (``record.forget_record_personal_data``): the personal
   part of the record's entries can never be read again, and the chain still verifies.

Which columns hold free text is declared per table (``COLUMNS``; other layers add theirs with
``declare``, as ``notifications.retention`` does for the alerts). Every table that reaches an
incident must have each of its text columns declared, either as free text (scrubbed) or as
holding none (codes, ids, states, hashes, ciphertext); ``coverage_gaps`` names the ones that are
not, and retention refuses to run while there are any, so a new table cannot be forgotten
silently.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import JSON, LargeBinary, String, Table, select, update
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from . import record
from .commitments import models as _commitments  # noqa: F401  (every model must be loaded)
from .involved import models as _involved
from .meetings import models as _meetings  # noqa: F401
from .plans import models as _plans  # noqa: F401
from .privacy import parties as _parties  # noqa: F401
from .privacy.check import redact_personal_data
from .record import reads as _reads  # noqa: F401
from .record.keys import live_keys

SCRUBBED = "[fjernet]"


@dataclass(frozen=True)
class Columns:
    """A table's text columns: ``free_text`` is scrubbed; ``other`` holds no free text (and
    says why in ``why``)."""

    free_text: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    why: str = "koder, id'er og tilstande"


COLUMNS: dict[str, Columns] = {
    "incident": Columns(("title", "description"),
                        ("reference", "incident_type", "severity", "activated_by", "state",
                         "record_head")),
    "incident_area": Columns((), ("area_code",)),
    "involved_person": Columns(("name", "nicknames"), ("area_code", "role", "created_by")),
    "full_sharing": Columns(("reason",), ("authority_code", "created_by")),
    "plan": Columns(("title", "purpose", "background", "evaluation_text"),
                    ("kind", "template_code", "state", "created_by")),
    "plan_measure": Columns(("title", "description", "notes"),
                            ("key", "measure_type", "authority_code", "responsible_id", "status")),
    "plan_communication": Columns(("audience", "what"), ("confidentiality",)),
    "plan_version": Columns(("snapshot",), ("state", "approval_rule", "frozen_by")),
    "plan_decision": Columns(("comment",), ("person_id", "decision", "via")),
    "plan_extension": Columns(("reason",), ("by",)),
    "plan_evaluation": Columns(("text",), ("person_id", "authority_code")),
    "meeting": Columns(("location",), ("state", "uid", "graph_event_id", "join_url", "organizer",
                                       "created_by"),
                       why="koder, id'er, Microsoft-id'er og mødelinket"),
    "meeting_invitee": Columns(("reason",), ("person_id", "authority_code", "response")),
    "meeting_agenda_item": Columns(("title", "text")),
    "meeting_decision": Columns(("text", "measure"), ("plan_measure_key", "created_by")),
    "commitment": Columns(("title", "reason", "note"),
                          ("measure_key", "authority_code", "responsible_id", "assigned_id",
                           "state", "confirmed_by", "updated_by")),
    "personal_data_read": Columns((), ("person_id", "what"),
                                  why="hvem der læste hvilken side; aldrig teksten"),
    "record_entry": Columns((), ("actor_id", "action", "summary", "data", "detail", "prev_hash",
                                 "hash"),
                            why="kun til tilføjelse: den klare del har ingen fritekst, den "
                                "personlige del er krypteret og glemmes ved at nøglen destrueres"),
    "record_key": Columns((), ("data_class", "key"), why="nøglen destrueres (key = NULL)"),
}


def declare(table: str, columns: Columns) -> None:
    """Declare a table of another layer (``notifications``) whose rows belong to an incident."""
    COLUMNS[table] = columns


# --- which tables and columns ------------------------------------------------------------------

def _texty(column) -> bool:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl if not isinstance(kind.impl, type) else kind.impl()
    return isinstance(kind, (String, JSON, LargeBinary))


def text_columns(table: Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.c if _texty(column))


def incident_tables() -> list[Table]:
    """Every table (of the models loaded) whose rows reach an incident."""
    from .retention import RetentionError, incident_path

    found = []
    for table in SQLModel.metadata.sorted_tables:
        try:
            incident_path(table)
        except RetentionError:
            continue
        found.append(table)
    return found


def coverage_gaps(tables: Iterable[Table] | None = None) -> list[str]:
    """'table.column' for each text column of a table that reaches an incident (of ``tables``,
    by default every loaded one) and is not declared (or declared but gone)."""
    gaps = []
    for table in incident_tables() if tables is None else tables:
        declared = COLUMNS.get(table.name)
        names = set(text_columns(table))
        known = set(declared.free_text + declared.other) if declared else set()
        gaps += [f"{table.name}.{name}" for name in sorted(names ^ known)]
    return gaps


# --- scrubbing ---------------------------------------------------------------------------------

def scrub_text(text: str, names: tuple[str, ...]) -> tuple[str, int]:
    """``text`` with the names and CPR numbers replaced, and how many were; a JSON document
    keeps its shape (only its string values are scrubbed)."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, (dict, list)):
            document, found = scrub_json(document, names)
            return (json.dumps(document, ensure_ascii=False) if found else text), found
    new, counts = redact_personal_data(text, confidential_names=names, replacement=SCRUBBED)
    found = sum(counts.values())
    return (new if found else text), found


def scrub_json(value: Any, names: tuple[str, ...]) -> tuple[Any, int]:
    if isinstance(value, str):
        return scrub_text(value, names)
    if isinstance(value, dict):
        total, out = 0, {}
        for key, item in value.items():
            out[key], found = scrub_json(item, names)
            total += found
        return out, total
    if isinstance(value, list):
        total, out = 0, []
        for item in value:
            new, found = scrub_json(item, names)
            out.append(new)
            total += found
        return out, total
    return value, 0


def _rows(session: Session, table: Table, columns: tuple[str, ...], incident_id: int):
    from .retention import incident_path

    joins, incident_column = incident_path(table)
    keys = list(table.primary_key.columns)
    query = select(*keys, *(table.c[name] for name in columns)).select_from(table)
    for target, on in joins:
        query = query.join(target, on)
    return keys, session.connection().execute(query.where(incident_column == incident_id))


def scrub_incident(session: Session, incident_id: int, names: tuple[str, ...], *,
                   act: bool) -> tuple[int, int]:
    """Scrub (with ``act``; else only count) every declared free-text column of the incident's
    rows. Returns (occurrences, rows)."""
    occurrences = rows = 0
    for table in incident_tables():
        columns = COLUMNS[table.name].free_text
        if not columns:
            continue
        keys, result = _rows(session, table, columns, incident_id)
        for row in result.all():
            changes, found_in_row = {}, 0
            for name, value in zip(columns, row[len(keys):]):
                if isinstance(value, str):
                    new, found = scrub_text(value, names)
                elif isinstance(value, (dict, list)):
                    new, found = scrub_json(value, names)
                else:
                    continue
                if found:
                    changes[name], found_in_row = new, found_in_row + found
            if not found_in_row:
                continue
            occurrences, rows = occurrences + found_in_row, rows + 1
            if act:
                where = [key == value for key, value in zip(keys, row[:len(keys)])]
                session.connection().execute(update(table).where(*where).values(changes))
    if act:
        session.expire_all()  # the ORM must not write its older copies back
    return occurrences, rows


# --- the whole step ----------------------------------------------------------------------------

@dataclass
class Forgotten:
    occurrences: int = 0  # names and CPR numbers replaced in free text
    rows: int = 0  # rows that had any
    involved: int = 0  # registered people deleted
    keys: int = 0  # record keys destroyed

    @property
    def empty(self) -> bool:
        return not (self.occurrences or self.involved or self.keys)


def registered_names(session: Session, incident_id: int) -> tuple[str, ...]:
    """The names and nicknames registered on the incident (before they are anonymised)."""
    from .involved.service import names_of

    return tuple(names_of(session, incident_id))


def forget(session: Session, incident_id: int, names: tuple[str, ...], *, people_due: bool,
           personal_due: bool, act: bool) -> Forgotten:
    """For one incident whose period is reached (the caller holds its lock): scrub the names
    and CPR numbers from all free text; delete the registered people if ``people_due``; destroy
    the record keys if ``personal_due``. Without ``act`` only count."""
    done = Forgotten()
    done.occurrences, done.rows = scrub_incident(session, incident_id, names, act=act)
    if people_due:
        people = session.scalars(select(_involved.InvolvedPerson).where(
            _involved.InvolvedPerson.incident_id == incident_id)).all()
        done.involved = len(people)
        for person in people if act else ():
            session.delete(person)
    if personal_due:
        done.keys = (record.forget_record_personal_data(session, incident_id) if act
                     else live_keys(session, incident_id))
    if act:
        session.flush()
    return done
