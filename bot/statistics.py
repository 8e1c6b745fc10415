"""Figures for the secretariat's annual report, per calendar year (Copenhagen time of activation).

Plain functions on a session and the year's incidents (``incidents_of_year``, read once per set
of figures). Exercises (ØVELSE) are counted apart from real incidents (``exercise=True`` gives
their figures), and planned events (beredskabsplaner prepared ahead, never activated) are left out
of both and only counted.

- incidents per local area (an incident for the whole city is counted once, as "Hele byen", not
  in every area) and per incident type;
- the time from activation to the first alert delivered (the first delivery sent, on any channel),
  to the beredskabsmøde being called and held (the first meeting not cancelled whose start has
  passed), and to the plan approved (the first approved version): median and mean over the
  incidents where it happened, and how many that was;
- commitments met in time: done (``udført``) no later than the end of their time window, out of
  those that are done or whose window has ended; those still running are left out.
"""
from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import func
from sqlmodel import Session, select

from handleplaner.clock import COPENHAGEN, local, utcnow
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.incidents import INCIDENT_TYPES, PLANNED_TYPE, Incident, IncidentArea
from handleplaner.meetings.models import Meeting
from handleplaner.record import RecordEntry
from notifications.models import Delivery

FIRST_YEAR = 2000
WHOLE_CITY = "Hele byen"


class YearInvalid(ValueError):
    """The year asked for is not a year we can show; the message is Danish."""


def current_year(now: datetime | None = None) -> int:
    return local(now or utcnow()).year


def parse_year(value: str | None, *, now: datetime | None = None) -> int:
    """The ``aar`` query parameter: empty means this year; anything else must be a year from
    2000 to this year."""
    this_year = current_year(now)
    text = (value or "").strip()
    if not text:
        return this_year
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise YearInvalid(f"Skriv året med fire cifre, fx {this_year}.")
    year = int(text)
    if not FIRST_YEAR <= year <= this_year:
        raise YearInvalid(f"Vælg et år mellem {FIRST_YEAR} og {this_year}.")
    return year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year in Copenhagen time, as UTC instants [start, end)."""
    start = datetime(year, 1, 1, tzinfo=COPENHAGEN).astimezone(timezone.utc)
    end = datetime(year + 1, 1, 1, tzinfo=COPENHAGEN).astimezone(timezone.utc)
    return start, end


def _aware(moment):
    if isinstance(moment, str):  # an aggregate read back raw from SQLite
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def incidents_of_year(session: Session, year: int, *, exercise: bool = False) -> list[Incident]:
    """The activated incidents (not planned events) of the year, real ones or exercises."""
    start, end = year_bounds(year)
    return list(session.exec(
        select(Incident).where(Incident.activated_at >= start, Incident.activated_at < end,
                               Incident.incident_type != PLANNED_TYPE,
                               Incident.exercise == exercise)
        .order_by(Incident.activated_at, Incident.id)))


def planned_events(session: Session, year: int) -> int:
    start, end = year_bounds(year)
    return session.exec(select(func.count()).select_from(Incident).where(
        Incident.activated_at >= start, Incident.activated_at < end,
        Incident.incident_type == PLANNED_TYPE)).one()


# -- counts -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    code: str
    label: str
    count: int


def per_area(session: Session, incidents: list[Incident]) -> list[Count]:
    """Every active area (also those with none), areas no longer active that had incidents,
    and "Hele byen"; in the directory's order (by name)."""
    local_ones = [i.id for i in incidents if not i.whole_city]
    tally: Counter = Counter()
    if local_ones:
        tally.update(session.exec(select(IncidentArea.area_code)
                                  .where(IncidentArea.incident_id.in_(local_ones))))
    rows = [Count(a.code, a.name, tally.get(a.code, 0))
            for a in directory.all_areas(session, include_inactive=True)
            if a.active or tally.get(a.code)]
    rows.append(Count("hele-byen", WHOLE_CITY, sum(1 for i in incidents if i.whole_city)))
    return rows


def per_type(incidents: list[Incident]) -> list[Count]:
    tally = Counter(i.incident_type for i in incidents)
    return [Count(code, label, tally.get(code, 0)) for code, label in INCIDENT_TYPES.items()]


# -- times from activation --------------------------------------------------------------------

@dataclass(frozen=True)
class ResponseTime:
    key: str
    label: str
    incidents: int  # incidents counted
    reached: int  # of which the event happened
    median: timedelta | None
    mean: timedelta | None


def _first_delivery_sent(session: Session, ids: list[int], now: datetime) -> dict[int, datetime]:
    return dict(session.exec(
        select(Delivery.incident_id, func.min(Delivery.sent_at))
        .where(Delivery.incident_id.in_(ids), Delivery.sent_at.is_not(None))
        .group_by(Delivery.incident_id)).all())


def _first_entry(action: str) -> Callable:
    def first(session: Session, ids: list[int], now: datetime) -> dict[int, datetime]:
        return dict(session.exec(
            select(RecordEntry.incident_id, func.min(RecordEntry.at))
            .where(RecordEntry.incident_id.in_(ids), RecordEntry.action == action)
            .group_by(RecordEntry.incident_id)).all())
    return first


def _first_meeting_held(session: Session, ids: list[int], now: datetime) -> dict[int, datetime]:
    held: dict[int, datetime] = {}
    for meeting in session.exec(select(Meeting).where(Meeting.incident_id.in_(ids),
                                                      Meeting.state != "aflyst")):
        starts = _aware(meeting.starts_at)
        if starts <= now and (meeting.incident_id not in held
                              or starts < held[meeting.incident_id]):
            held[meeting.incident_id] = starts
    return held


MILESTONES: tuple[tuple[str, str, Callable], ...] = (
    ("varsel", "Første varsel leveret", _first_delivery_sent),
    ("moede_indkaldt", "Beredskabsmøde indkaldt", _first_entry("moede.indkaldt")),
    ("moede_afholdt", "Beredskabsmøde afholdt", _first_meeting_held),
    ("plan_godkendt", "Handleplan godkendt", _first_entry("handleplan.godkendt")),
)


def response_times(session: Session, incidents: list[Incident], *,
                   now: datetime | None = None) -> list[ResponseTime]:
    moment = now or utcnow()
    ids = [i.id for i in incidents]
    result = []
    for key, label, first in MILESTONES:
        reached = {k: _aware(v) for k, v in (first(session, ids, moment) if ids else {}).items()}
        spans = [max(reached[i.id] - _aware(i.activated_at), timedelta(0))
                 for i in incidents if reached.get(i.id) is not None]
        seconds = [s.total_seconds() for s in spans]
        result.append(ResponseTime(
            key=key, label=label, incidents=len(incidents), reached=len(spans),
            median=timedelta(seconds=statistics.median(seconds)) if seconds else None,
            mean=timedelta(seconds=statistics.fmean(seconds)) if seconds else None))
    return result


# -- commitments ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommitmentsInTime:
    met: int  # done by the end of the time window
    late: int  # done after it
    missed: int  # not done, the window has ended
    running: int  # not done, the window has not ended: not counted in the share

    @property
    def decided(self) -> int:
        return self.met + self.late + self.missed

    @property
    def share(self) -> float | None:
        return self.met / self.decided if self.decided else None


def commitments_in_time(session: Session, incidents: list[Incident], *,
                        now: datetime | None = None) -> CommitmentsInTime:
    moment = now or utcnow()
    ids = [i.id for i in incidents]
    if not ids:
        return CommitmentsInTime(0, 0, 0, 0)
    done_at: dict[int, datetime] = {}
    for entry in session.exec(select(RecordEntry).where(RecordEntry.incident_id.in_(ids),
                                                        RecordEntry.action == "opgave.udfoert")
                              .order_by(RecordEntry.at)):
        commitment_id = json.loads(entry.data or "{}").get("commitment_id")
        done_at[commitment_id] = _aware(entry.at)  # the latest report counts
    met = late = missed = running = 0
    for c in session.exec(select(Commitment).where(Commitment.incident_id.in_(ids),
                                                   Commitment.state != "udgaaet")):
        deadline = _aware(c.ends_at)
        if c.state == "udfoert":
            finished = done_at.get(c.id) or _aware(c.updated_at)
            met += finished <= deadline
            late += finished > deadline
        elif deadline <= moment:
            missed += 1
        else:
            running += 1
    return CommitmentsInTime(met=met, late=late, missed=missed, running=running)


# -- the year ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    incidents: int
    per_area: list[Count]
    per_type: list[Count]
    times: list[ResponseTime]
    commitments: CommitmentsInTime


@dataclass(frozen=True)
class YearStatistics:
    year: int
    real: Figures
    exercises: Figures
    planned: int


def figures(session: Session, year: int, *, exercise: bool = False,
            now: datetime | None = None) -> Figures:
    incidents = incidents_of_year(session, year, exercise=exercise)  # read once for all figures
    return Figures(incidents=len(incidents), per_area=per_area(session, incidents),
                   per_type=per_type(incidents),
                   times=response_times(session, incidents, now=now),
                   commitments=commitments_in_time(session, incidents, now=now))


def year_statistics(session: Session, year: int, *, now: datetime | None = None) -> YearStatistics:
    return YearStatistics(year=year, real=figures(session, year, now=now),
                          exercises=figures(session, year, exercise=True, now=now),
                          planned=planned_events(session, year))


def years_with_incidents(session: Session, *, now: datetime | None = None) -> list[int]:
    """The years to offer, newest first: from the first activation to this year."""
    first = session.exec(select(func.min(Incident.activated_at))).one()
    this_year = current_year(now)
    start = min(local(_aware(first)).year, this_year) if first else this_year
    return list(range(this_year, max(start, FIRST_YEAR) - 1, -1))


def duration_text(span: timedelta | None) -> str:
    """E.g. '12 min', '2 t 05 min', '3 d 4 t'."""
    if span is None:
        return "–"
    minutes = round(span.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} t"
    if hours:
        return f"{hours} t {minutes:02d} min"
    return f"{minutes} min"
