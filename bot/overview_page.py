"""The front page's overview of the incidents the caller may see: for each active incident its
areas, severity, plan period and days left, the commitments confirmed, outstanding and overdue,
and the last alert; the closed ones in a short list; the map of the areas touched."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlmodel import Session, select

from handleplaner.access import may_view
from handleplaner.clock import local, utcnow
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.incidents import CLOSED, Incident, IncidentArea
from handleplaner.incidents.kinds import SEVERITIES
from handleplaner.plans.models import Plan
from handleplaner.record import RecordEntry
from notifications.models import Alert

from .area_map import AreaMap, area_map

CLOSED_STATE = "afsluttet"
SEVERITY_RANK = {code: rank for rank, code in enumerate(SEVERITIES)}  # orientering 0 … akut 2
CONFIRMED = frozenset({"bekraeftet", "i_gang", "udfoert", "blokeret"})
OUTSTANDING = frozenset({"afventer", "videregivet"})
DONE = frozenset({"udfoert", "udgaaet"})
CLOSED_SHOWN = 10
CLOSED_SCANNED = 200


def aware(moment: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC (SQLite gives them back naive)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=timezone.utc)


@dataclass
class CommitmentCounts:
    confirmed: int = 0
    outstanding: int = 0  # waiting for the leader's confirmation (incl. handed over)
    declined: int = 0
    overdue: int = 0  # past the end of its time window and not done
    total: int = 0


@dataclass
class IncidentLine:
    incident: Incident
    area_names: list[str]
    plan: Plan | None
    days_left: int | None
    commitments: CommitmentCounts
    last_alert: Alert | None

    @property
    def days_left_text(self) -> str:
        return days_left_text(self.days_left)


@dataclass
class ClosedLine:
    incident: Incident
    closed_at: datetime | None


@dataclass
class Overview:
    active: list[IncidentLine]
    closed: list[ClosedLine]
    map: AreaMap
    # (area code, area name, the active incidents touching it), by name: the map's text list
    touched: list[tuple[str, str, list[Incident]]] = field(default_factory=list)


def days_left(period_end: datetime, now: datetime) -> int:
    """Calendar days (Copenhagen) until the plan's period ends; negative once it has ended."""
    return (local(period_end).date() - local(now).date()).days


def days_left_text(days: int | None) -> str:
    if days is None:
        return "ingen handleplan"
    if days > 1:
        return f"{days} dage tilbage"
    if days == 1:
        return "1 dag tilbage"
    if days == 0:
        return "udløber i dag"
    return f"udløbet for {-days} dag{'e' if days < -1 else ''} siden"


def count_commitments(rows, now: datetime) -> CommitmentCounts:
    counts = CommitmentCounts()
    for c in rows:
        if c.state == "udgaaet":
            continue
        counts.total += 1
        counts.confirmed += c.state in CONFIRMED
        counts.outstanding += c.state in OUTSTANDING
        counts.declined += c.state == "afvist"
        counts.overdue += c.state not in DONE and aware(c.ends_at) < now
    return counts


def _visible(session: Session, person_id: str, query, limit: int | None = None) -> list[Incident]:
    found = []
    for incident in session.exec(query):
        if may_view(session, person_id, incident.id):
            found.append(incident)
            if limit is not None and len(found) >= limit:
                break
    return found


def _grouped(session: Session, model, ids: list[int], *order) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    if ids:
        for row in session.exec(select(model).where(model.incident_id.in_(ids)).order_by(*order)):
            grouped[row.incident_id].append(row)
    return grouped


def overview(session: Session, person_id: str, *, now: datetime | None = None) -> Overview:
    moment = now or utcnow()
    active = _visible(session, person_id, select(Incident).where(Incident.state != CLOSED_STATE)
                      .order_by(Incident.activated_at.desc(), Incident.id.desc()))
    active.sort(key=lambda i: -SEVERITY_RANK.get(i.severity, 0))  # stable: newest first within
    ids = [i.id for i in active]
    areas = directory.all_areas(session)
    names = {a.code: a.name for a in directory.all_areas(session, include_inactive=True)}
    area_rows = _grouped(session, IncidentArea, ids, IncidentArea.area_code)
    plans = {}
    for plan in _grouped(session, Plan, ids, Plan.id).values():
        plans[plan[-1].incident_id] = plan[-1]  # the newest plan
    commitments = _grouped(session, Commitment, ids)
    alerts = _grouped(session, Alert, ids, Alert.created_at, Alert.id)

    lines, by_area = [], defaultdict(list)
    for incident in active:
        codes = [r.area_code for r in area_rows.get(incident.id, [])]
        touched = [a.code for a in areas] if incident.whole_city else codes
        for code in touched:
            by_area[code].append(incident)
        plan = plans.get(incident.id)
        lines.append(IncidentLine(
            incident=incident,
            area_names=["Hele byen"] if incident.whole_city else [names.get(c, c) for c in codes],
            plan=plan, days_left=days_left(plan.period_end, moment) if plan else None,
            commitments=count_commitments(commitments.get(incident.id, []), moment),
            last_alert=(alerts.get(incident.id) or [None])[-1]))

    closed = _visible(session, person_id, select(Incident).where(Incident.state == CLOSED_STATE)
                      .order_by(Incident.activated_at.desc(), Incident.id.desc())
                      .limit(CLOSED_SCANNED), limit=CLOSED_SHOWN)
    closed_at = {}
    if closed:
        for entry in session.exec(select(RecordEntry).where(
                RecordEntry.incident_id.in_([i.id for i in closed]), RecordEntry.action == CLOSED)):
            closed_at[entry.incident_id] = entry.at
    touched = {code: [i.reference for i in found] for code, found in by_area.items()}
    return Overview(active=lines,
                    closed=[ClosedLine(i, closed_at.get(i.id)) for i in closed],
                    map=area_map(areas, touched),
                    touched=sorted(((code, names.get(code, code), found)
                                    for code, found in by_area.items()), key=lambda t: t[1]))
