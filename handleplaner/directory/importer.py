"""Bringing the database in line with an organisation file.

Authorities, areas, groups and people are upserted by code or id; whatever the file no longer
names is marked inactive, never deleted (incidents, alerts and the record refer to people).
Memberships and group areas are replaced by the file's. Everything happens in the caller's
transaction; ``import_directory_file`` validates first and runs one transaction of its own, so a
failed import changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..storage import transaction
from .file import DirectoryData, load_directory
from .models import Area, Authority, Group, GroupArea, Membership, Person

KINDS = ("authority", "area", "group", "person")


@dataclass
class ImportReport:
    """What an import changed, counted per kind ("authority", "area", "group", "person")."""

    created: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    deactivated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    memberships_added: int = 0
    memberships_removed: int = 0
    memberships_changed: int = 0
    group_areas_added: int = 0
    group_areas_removed: int = 0

    @property
    def changed(self) -> bool:
        return any(any(d.values()) for d in (self.created, self.updated, self.deactivated)) or any(
            (self.memberships_added, self.memberships_removed, self.memberships_changed,
             self.group_areas_added, self.group_areas_removed))

    def __str__(self) -> str:
        names = {"authority": "myndigheder", "area": "områder", "group": "grupper",
                 "person": "personer"}
        lines = [f"{names[k]}: {self.created[k]} nye, {self.updated[k]} ændrede, "
                 f"{self.deactivated[k]} gjort inaktive" for k in KINDS]
        lines.append(f"medlemskaber: {self.memberships_added} nye, {self.memberships_removed} "
                     f"fjernet, {self.memberships_changed} med ny rolle")
        lines.append(f"gruppeområder: {self.group_areas_added} nye, "
                     f"{self.group_areas_removed} fjernet")
        return "\n".join(lines)


def _upsert(session: Session, report: ImportReport, kind: str, model: type, key: Any,
            values: dict[str, Any]) -> Any:
    row = session.get(model, key)
    if row is None:
        row = model(**values)
        session.add(row)
        report.created[kind] += 1
        return row
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        session.add(row)
        report.updated[kind] += 1
    return row


def _deactivate_missing(session: Session, report: ImportReport, kind: str, model: type,
                        key_attr: str, keep: set[str]) -> None:
    for row in session.exec(select(model).where(model.active == True)):  # noqa: E712
        if getattr(row, key_attr) not in keep:
            row.active = False
            session.add(row)
            report.deactivated[kind] += 1


def import_directory(session: Session, data: DirectoryData) -> ImportReport:
    """Make the directory tables match ``data`` in the caller's transaction; the caller commits.

    Order keeps foreign keys satisfied at every flush, also on PostgreSQL: authorities and areas,
    then people without deputies, then groups (their chairs exist by then), then deputies, group
    areas and memberships.
    """
    report = ImportReport()

    for authority in data.authorities:
        _upsert(session, report, "authority", Authority, authority.code,
                dict(code=authority.code, name=authority.name,
                     fixed_party=authority.fixed_party, active=True))
    for area in data.areas:
        _upsert(session, report, "area", Area, area.code,
                dict(code=area.code, name=area.name, bydel=area.bydel, active=True))
    session.flush()

    # E-mail addresses and Teams ids are unique; one may move from one person to another (or
    # from a person who left to a newcomer). Free every such value before anyone takes it.
    _free_moved_unique_values(session, data)

    # People first without deputies, so that a deputy who is new in this file exists before
    # anyone points at them; the deputies are set once everyone has been flushed.
    people: dict[str, Person] = {}
    existing = {row.id: row for row in session.exec(select(Person))}
    with session.no_autoflush:
        for person in data.people:
            values = dict(id=person.id, name=person.name, title=person.title, role=person.role,
                          authority_code=person.authority, email=person.email,
                          teams_user_id=person.teams_user_id,
                          channels=",".join(person.channels), phone=person.phone, active=True)
            row = existing.get(person.id)
            if row is None:
                row = Person(**values)
                report.created["person"] += 1
            else:
                changed = [name for name, value in values.items() if getattr(row, name) != value]
                if changed or row.deputy_id != person.deputy:
                    report.updated["person"] += 1
                for name in changed:
                    setattr(row, name, values[name])
            session.add(row)
            people[person.id] = row
    session.flush()

    for group in data.groups:
        _upsert(session, report, "group", Group, group.code,
                dict(code=group.code, kind=group.kind, name=group.name, chair_id=group.chair,
                     teams_channel_id=group.teams_channel, active=True))
    session.flush()

    for person in data.people:
        row = people[person.id]
        if row.deputy_id != person.deputy:
            row.deputy_id = person.deputy
            session.add(row)
    session.flush()

    _replace_group_areas(session, data, report)
    _replace_memberships(session, data, report)
    session.flush()

    _deactivate_missing(session, report, "group", Group, "code", {g.code for g in data.groups})
    _deactivate_missing(session, report, "person", Person, "id", {p.id for p in data.people})
    _deactivate_missing(session, report, "area", Area, "code", {a.code for a in data.areas})
    _deactivate_missing(session, report, "authority", Authority, "code",
                        {a.code for a in data.authorities})
    session.flush()
    return report


def _free_moved_unique_values(session: Session, data: DirectoryData) -> None:
    owner_of_email = {p.email: p.id for p in data.people}
    owner_of_teams_id = {p.teams_user_id: p.id for p in data.people if p.teams_user_id}
    moved = False
    for row in session.exec(select(Person)):
        if owner_of_email.get(row.email, row.id) != row.id:
            row.email = f"{row.id}.frigivet@invalid"  # overwritten below if the person stays
            session.add(row)
            moved = True
        if row.teams_user_id and owner_of_teams_id.get(row.teams_user_id, row.id) != row.id:
            row.teams_user_id = None
            session.add(row)
            moved = True
    if moved:
        session.flush()


def _replace_group_areas(session: Session, data: DirectoryData, report: ImportReport) -> None:
    wanted = {(g.code, a) for g in data.groups for a in g.areas}
    existing = {(row.group_code, row.area_code): row for row in session.exec(select(GroupArea))}
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
            report.group_areas_removed += 1
    for group_code, area_code in sorted(wanted - set(existing)):
        session.add(GroupArea(group_code=group_code, area_code=area_code))
        report.group_areas_added += 1


def _replace_memberships(session: Session, data: DirectoryData, report: ImportReport) -> None:
    wanted = {(g.code, m.person): m.role for g in data.groups for m in g.members}
    existing = {(row.group_code, row.person_id): row for row in session.exec(select(Membership))}
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
            report.memberships_removed += 1
        elif row.role_in_group != wanted[key]:
            row.role_in_group = wanted[key]
            session.add(row)
            report.memberships_changed += 1
    for (group_code, person_id), role in wanted.items():
        if (group_code, person_id) not in existing:
            session.add(Membership(group_code=group_code, person_id=person_id,
                                   role_in_group=role))
            report.memberships_added += 1


def import_directory_file(engine: Engine, path: str | Path) -> ImportReport:
    """Validate the file, then import it in one transaction; on any error nothing changes.

    Raises ``DirectoryError`` (from validation) before the database is touched.
    """
    data = load_directory(Path(path))
    with transaction(engine) as session:
        return import_directory(session, data)
