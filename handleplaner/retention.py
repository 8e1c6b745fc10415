"""Retention: personal data about young people is kept no longer than needed
(databeskyttelsesforordningen art. 5, stk. 1, litra e), and logs are kept for a set time.

Each data class has its own period in months:

- personal data: the marked fields (``handleplaner.personal_data``) of an incident closed more
  than N months ago are replaced by a marker "[slettet <dato> efter N mdr.]", and so are the same
  values inside the frozen plan versions and the minutes' measure data. The incident was closed
  when its record got the closing entry (``incidents.CLOSED``).
- forgetting (``handleplaner.forgetting``): for the same incidents, the registered people's
  names and CPR numbers are scrubbed from every free-text column of every table, the registered
  people are deleted (their own period, ``Policy.involved_months``) and the record's keys are
  destroyed, so the personal part of its entries can no longer be read.
- logs (``Log``): rows older than N months are deleted, or only their listed columns cleared. The
  read log is defined here; the delivery log lives with its tables (``notifications.retention``).

The incident record itself is never changed (its chain still verifies after the keys are gone). Each incident touched gets one record entry
(``ACTION``) with the counts per class. ``due`` says what a run would do (a dry run); ``apply``
does it, one incident per transaction under the incident's lock, so a second run finds nothing.
"""
from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import Table, delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from . import forgetting, record
from .clock import local
from .commitments import models as _commitments  # noqa: F401  (marked_models needs every model)
from .directory import models as _directory  # noqa: F401
from .incidents import CLOSED, Incident, lock_incident
from .involved.models import RETENTION_MONTHS as INVOLVED_MONTHS, InvolvedPerson
from .meetings.models import MinuteDecision
from .personal_data import (SNAPSHOT_MARKED, SNAPSHOT_PEOPLE, locate, marked_models,
                            personal_fields)
from .plans.models import PlanVersion
from .record.models import RecordEntry
from .record.reads import PersonalDataRead
from .storage import transaction

ACTION = "retention.anonymiseret"
CLOSED_STATE = "afsluttet"
MARKER = re.compile(r"\[slettet \d{2}\.\d{2}\.\d{4} efter \d+ mdr\.\]")
CHUNK = 500

# Copies of marked fields inside JSON columns: the column and the paths to the copies ("*": each
# item of a list). PlanVersion.snapshot is built in plans.service.snapshot/version_snapshot.
MARKED_JSON: dict[type[SQLModel], tuple[str, tuple[tuple[str, ...], ...]]] = {
    PlanVersion: ("snapshot", (*SNAPSHOT_MARKED, SNAPSHOT_PEOPLE)),
    MinuteDecision: ("measure", (("notes",),)),
}


class RetentionError(Exception):
    """The retention rules cannot be applied as configured; nothing was changed."""


# Policy ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogTable:
    """Rows of ``model`` older than the cut-off (by column ``at``) are deleted, or, if ``clear``
    names columns, those columns are emptied and the row is kept."""

    model: type[SQLModel]
    at: str
    clear: tuple[str, ...] = ()


@dataclass(frozen=True)
class Log:
    key: str  # the key in the record entry's data, e.g. "read_log"
    label: str  # Danish, e.g. "Læselog"
    months: int
    tables: tuple[LogTable, ...]
    cleared: tuple[str, str] = ("felt", "felter")  # what a cleared column is called, 1 and more

    def __post_init__(self) -> None:
        _check_months(self.key, self.months)


@dataclass(frozen=True)
class Policy:
    personal_data_months: int = 6
    logs: tuple[Log, ...] = ()
    involved_months: int = INVOLVED_MONTHS  # the registered people's own period

    def __post_init__(self) -> None:
        _check_months("personal_data", self.personal_data_months)
        _check_months("involved", self.involved_months)


def _check_months(name: str, months: int) -> None:
    if not isinstance(months, int) or isinstance(months, bool) or months <= 0:
        raise RetentionError(f"Opbevaringsfristen for {name} skal være et antal måneder større "
                             f"end 0, ikke {months!r}.")


def read_log(months: int) -> Log:
    """Who read an incident's personal data (``record.reads``), deleted after ``months``."""
    return Log("read_log", "Læselog", months, (LogTable(PersonalDataRead, "at"),))


def months_before(moment: datetime, months: int) -> datetime:
    """The same time ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    last = (datetime(year + (month == 12), month % 12 + 1, 1) - datetime(year, month, 1)).days
    return moment.replace(year=year, month=month, day=min(moment.day, last))


def count(n: int, one: str, many: str) -> str:
    """'1 felt', '3 felter'."""
    return f"{n} {one if n == 1 else many}"


def marker(now: datetime, months: int) -> str:
    return f"[slettet {local(now):%d.%m.%Y} efter {months} mdr.]"


# What is due -------------------------------------------------------------------------------
@dataclass
class Found:
    """What is due (or was done) for one incident, per class."""

    incident_id: int
    personal_fields: int = 0  # values replaced, in rows and in JSON copies
    personal_rows: int = 0
    logs: dict[str, list[int]] = field(default_factory=dict)  # log key -> [deleted, cleared]
    forgotten: forgetting.Forgotten = field(default_factory=forgetting.Forgotten)

    @property
    def empty(self) -> bool:
        return (not self.personal_fields and self.forgotten.empty
                and not any(sum(v) for v in self.logs.values()))

    def data(self, policy: Policy) -> dict[str, Any]:
        data: dict[str, Any] = {"personal_data": {"fields": self.personal_fields,
                                                  "rows": self.personal_rows,
                                                  "months": policy.personal_data_months},
                                "forgotten": {"names_and_cpr": self.forgotten.occurrences,
                                              "rows": self.forgotten.rows,
                                              "involved_people": self.forgotten.involved,
                                              "record_keys": self.forgotten.keys}}
        for log in policy.logs:
            deleted, cleared = self.logs.get(log.key, [0, 0])
            data[log.key] = {"deleted": deleted, "cleared": cleared, "months": log.months}
        return data

    def summary(self, policy: Policy) -> str:
        parts = []
        if self.personal_fields:
            parts.append(f"personoplysninger anonymiseret ("
                         f"{count(self.personal_fields, 'felt', 'felter')} i "
                         f"{count(self.personal_rows, 'række', 'rækker')}; afsluttet for mere "
                         f"end {policy.personal_data_months} mdr. siden)")
        if not self.forgotten.empty:
            f = self.forgotten
            parts.append(f"glemt: {count(f.occurrences, 'navn eller CPR-nummer', 'navne og CPR-numre')}"
                         f" fjernet fra fritekst, {count(f.involved, 'involveret person', 'involverede personer')}"
                         f" slettet, {count(f.keys, 'nøgle', 'nøgler')} til loggens personoplysninger "
                         "destrueret")
        for log in policy.logs:
            deleted, cleared = self.logs.get(log.key, [0, 0])
            if deleted or cleared:
                done = [text for n, text in (
                    (deleted, f"{count(deleted, 'post', 'poster')} slettet"),
                    (cleared, f"{count(cleared, *log.cleared)} ryddet")) if n]
                parts.append(f"{log.label.lower()}: {', '.join(done)} (ældre end {log.months} mdr.)")
        return "Opbevaringsfrist nået: " + "; ".join(parts)


@dataclass
class Report:
    now: datetime
    policy: Policy
    dry_run: bool
    incidents: dict[int, Found] = field(default_factory=dict)

    def found(self, incident_id: int) -> Found:
        return self.incidents.setdefault(incident_id, Found(incident_id))

    def totals(self) -> dict[str, dict[str, int]]:
        """Per class: {"personal_data": {"fields", "rows", "incidents"}, log key: {"deleted",
        "cleared", "incidents"}}."""
        items = [f for f in self.incidents.values() if not f.empty]
        totals = {"personal_data": {
            "fields": sum(f.personal_fields for f in items),
            "rows": sum(f.personal_rows for f in items),
            "incidents": sum(1 for f in items if f.personal_fields)},
            "forgotten": {
                "occurrences": sum(f.forgotten.occurrences for f in items),
                "rows": sum(f.forgotten.rows for f in items),
                "involved": sum(f.forgotten.involved for f in items),
                "keys": sum(f.forgotten.keys for f in items),
                "incidents": sum(1 for f in items if not f.forgotten.empty)}}
        for log in self.policy.logs:
            counts = [f.logs.get(log.key, [0, 0]) for f in items]
            totals[log.key] = {"deleted": sum(c[0] for c in counts),
                               "cleared": sum(c[1] for c in counts),
                               "incidents": sum(1 for c in counts if sum(c))}
        return totals


def due(session: Session, now: datetime, policy: Policy) -> Report:
    """What a run at ``now`` would anonymise, delete or clear, per incident; changes nothing."""
    report = Report(now=now, policy=policy, dry_run=True)
    _collect(session, report, incident_ids=None, act=False)
    report.incidents = {i: f for i, f in report.incidents.items() if not f.empty}
    return report


def apply(engine: Engine, now: datetime, policy: Policy) -> Report:
    """Do what is due, one incident per transaction, each with one record entry; return what
    was done."""
    with Session(engine) as session:
        planned = sorted(due(session, now, policy).incidents)
    report = Report(now=now, policy=policy, dry_run=False)
    for incident_id in planned:
        with transaction(engine) as session:
            lock_incident(session, incident_id)
            single = Report(now=now, policy=policy, dry_run=False)
            _collect(session, single, incident_ids=[incident_id], act=True)
            found = single.incidents.get(incident_id)
            if found is None or found.empty:
                continue  # done meanwhile by another run
            record.append(session, incident_id=incident_id, actor_id=record.SYSTEM,
                          action=ACTION, at=now, summary=found.summary(policy),
                          data=found.data(policy))
            report.incidents[incident_id] = found
    return report


def _collect(session: Session, report: Report, *, incident_ids: list[int] | None,
             act: bool) -> None:
    policy, now = report.policy, report.now
    closed = closed_before(session, months_before(now, policy.personal_data_months),
                           incident_ids)
    people = closed_before(session, months_before(now, policy.involved_months), incident_ids)
    gaps = forgetting.coverage_gaps()
    if gaps and (closed or people):
        raise RetentionError("Retention kan ikke glemme alt: disse tekstkolonner er hverken "
                             "erklæret som fritekst eller som uden fritekst (handleplaner/"
                             "forgetting.py): " + ", ".join(gaps))
    for incident_id in sorted(set(closed) | set(people)):
        # before the marked fields are anonymised: the registered names are needed to find them
        names = forgetting.registered_names(session, incident_id)
        report.found(incident_id).forgotten = forgetting.forget(
            session, incident_id, names, people_due=incident_id in people,
            personal_due=incident_id in closed, act=act)
    if closed:
        text = marker(now, policy.personal_data_months) if act else None
        _personal_data(session, report, closed, text)
    for log in policy.logs:
        _log(session, report, log, months_before(now, log.months), incident_ids, act)


# Closing times -----------------------------------------------------------------------------
def closing_times(session: Session, incident_ids: Iterable[int] | None = None
                  ) -> dict[int, datetime]:
    """When each closed incident was closed: the time of its closing record entry. An incident
    closed without one (another way of closing) counts from its last entry but retention's own,
    which is never earlier than its real closing."""
    def query(closing: bool):
        q = (select(RecordEntry.incident_id, func.max(RecordEntry.at))
             .join(Incident, Incident.id == RecordEntry.incident_id)
             .where(Incident.state == CLOSED_STATE)
             .where(RecordEntry.action == CLOSED if closing else RecordEntry.action != ACTION)
             .group_by(RecordEntry.incident_id))
        if incident_ids is not None:
            q = q.where(RecordEntry.incident_id.in_(list(incident_ids)))
        return {incident_id: at for incident_id, at in session.exec(q)}

    found = query(closing=True)
    return {**{k: v for k, v in query(closing=False).items() if k not in found}, **found}


def closed_before(session: Session, cutoff: datetime, incident_ids: Iterable[int] | None = None
                  ) -> list[int]:
    return sorted(i for i, at in closing_times(session, incident_ids).items()
                  if _aware(at) < cutoff)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# How a row reaches its incident ------------------------------------------------------------
def incident_path(table: Table) -> tuple[list[tuple[Table, Any]], Any]:
    """The joins from ``table`` to a table with the incident id (following foreign keys, the
    shortest way), and that column. E.g. plan_decision -> plan_version -> plan.incident_id."""
    queue = deque([(table, [])])
    seen = {table.name}
    while queue:
        current, joins = queue.popleft()
        if current.name == Incident.__tablename__:
            return joins, current.c.id
        if "incident_id" in current.c:
            return joins, current.c.incident_id
        for column in current.c:
            for key in column.foreign_keys:
                target = key.column.table
                if target.name not in seen:
                    seen.add(target.name)
                    queue.append((target, joins + [(target, column == key.column)]))
    raise RetentionError(f"Tabellen {table.name} har personoplysninger, men ingen vej til en "
                         "hændelse; retention kan ikke afgøre, hvornår de skal slettes.")


def _rows_with_incident(model: type[SQLModel], *columns):
    joins, incident_column = incident_path(model.__table__)
    query = select(*(columns or (model,)), incident_column).select_from(model)
    for target, on in joins:
        query = query.join(target, on)
    return query, incident_column


# Personal data -----------------------------------------------------------------------------
def _is_due(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip()) and not MARKER.fullmatch(value)
    if isinstance(value, list):
        return any(_is_due(item) if isinstance(item, str) else item is not None for item in value)
    return bool(value)


def _scrub(node: Any, path: tuple[str, ...], text: str | None) -> int:
    """Count (and with ``text``, replace) the due values at ``path`` in a JSON document."""
    due = [(container, key) for container, key in locate(node, path) if _is_due(container[key])]
    if text is not None:
        for container, key in due:
            container[key] = [text] if isinstance(container[key], list) else text
    return len(due)


def _personal_data(session: Session, report: Report, incident_ids: list[int],
                   text: str | None) -> None:
    # the registered people are not anonymised but deleted, in their own period (forgetting)
    models = [m for m in dict.fromkeys([*marked_models(), *MARKED_JSON]) if m is not InvolvedPerson]
    for model in models:
        names = personal_fields(model)
        json_column, paths = MARKED_JSON.get(model, (None, ()))
        query, incident_column = _rows_with_incident(model)
        for row, incident_id in session.exec(query.where(incident_column.in_(incident_ids))):
            count = 0
            for name in names:
                if _is_due(getattr(row, name)):
                    count += 1
                    if text is not None:
                        setattr(row, name, text)
            if json_column and getattr(row, json_column):
                document = json.loads(getattr(row, json_column))
                in_json = sum(_scrub(document, path, text) for path in paths)
                if in_json and text is not None:
                    setattr(row, json_column, json.dumps(document, ensure_ascii=False))
                count += in_json
            if count:
                found = report.found(incident_id)
                found.personal_fields += count
                found.personal_rows += 1
                if text is not None:
                    session.add(row)
    session.flush()


# Logs --------------------------------------------------------------------------------------
def _log(session: Session, report: Report, log: Log, cutoff: datetime,
         incident_ids: list[int] | None, act: bool) -> None:
    for table in log.tables:
        model = table.model
        key = getattr(model, "id")
        query, incident_column = _rows_with_incident(model, key)
        query = query.where(getattr(model, table.at) < cutoff)
        if table.clear:
            query = query.where(or_(*(getattr(model, c).is_not(None) for c in table.clear)))
        if incident_ids is not None:
            query = query.where(incident_column.in_(incident_ids))
        rows = list(session.exec(query))
        for _id, incident_id in rows:
            report.found(incident_id).logs.setdefault(log.key, [0, 0])[1 if table.clear else 0] += 1
        if not act:
            continue
        ids = [row_id for row_id, _ in rows]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            if table.clear:
                session.exec(update(model).where(key.in_(chunk))
                             .values({c: None for c in table.clear}))
            else:
                session.exec(delete(model).where(key.in_(chunk)))
