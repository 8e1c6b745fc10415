"""Bringing the directory in line with Entra ID: who is in the mapped groups, and where they sit.

``plan_sync`` works out the directory the mapping file and Entra's group members describe and
what would change (added, removed = made inactive, moved between groups, areas or authorities,
changed name, title, e-mail, phone or role); it writes nothing. ``apply_sync`` does the same
inside one transaction, imports the result (importer.import_directory) and records the sync
(models.DirectorySync). A person who would be removed but still owns open work (open_work.py)
is kept active and unchanged, and named, unless ``force_remove`` is given (then still named).

People are matched by Entra object id (their Teams user id), then by e-mail address, inactive
people included (someone who returns gets their old id back). What Entra does not hold is kept:
the preferred channels, and the deputy (unless the mapping file names one, or the deputy left).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Mapping, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..clock import utcnow
from ..storage import transaction
from .file import (EMAIL, PHONE, TEXT_MAX, AuthorityData, DirectoryData, GroupData, MemberData,
                   PersonData)
from .importer import import_directory
from .mapping import ROLE_IN_GROUP_STRENGTH, DirectoryMapping, EntraSource, MappedGroup
from .models import Area, Authority, DirectorySync, Group, GroupArea, Membership, Person
from .open_work import OpenWork, open_work

NEW_ID = re.compile(r"^p(\d+)$")
PERSON_FIELDS = {"name": "navn", "title": "titel", "email": "e-mail", "phone": "telefon",
                 "role": "rolle", "teams_user_id": "Teams-id", "deputy": "suppleant"}


class SyncRefused(Exception):
    """The sync would do something no one can have meant (e.g. remove everyone)."""


@dataclass(frozen=True)
class EntraUser:
    """A user as Graph's ``groups/{id}/members`` gives it."""

    id: str
    display_name: str | None = None
    mail: str | None = None
    user_principal_name: str | None = None
    job_title: str | None = None
    department: str | None = None
    mobile_phone: str | None = None
    account_enabled: bool | None = True
    user_type: str | None = "Member"

    @property
    def guest(self) -> bool:
        return (self.user_type or "").lower() == "guest"

    @property
    def email(self) -> str | None:
        """``mail``, else (for members, not guests) the user principal name; lower case."""
        for value in (self.mail, None if self.guest else self.user_principal_name):
            value = (value or "").strip()
            if value and EMAIL.match(value):
                return value.lower()
        return None


#: Entra group id -> its users (as read, nested groups already left out).
Members = Mapping[str, Sequence[EntraUser]]


@dataclass
class SyncPlan:
    """The directory to be, and what changes to get there (plain data, also stored as JSON)."""

    target: DirectoryData
    added: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)
    kept: list[dict] = field(default_factory=list)  # owners of open work kept active
    structure: list[str] = field(default_factory=list)  # authorities, areas, groups
    warnings: list[str] = field(default_factory=list)
    force_remove: bool = False
    # person id -> open work, for everyone kept or removed despite it
    open_work: dict[str, list[OpenWork]] = field(default_factory=dict)
    # person id -> name, before and after, for the text
    names: dict[str, str] = field(default_factory=dict)

    @property
    def forced(self) -> list[dict]:
        """Owners of open work removed anyway (``force_remove``)."""
        return [p for p in self.removed if p.get("open_work")]

    @property
    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "removed": len(self.removed), "moved": len(self.moved),
                "changed": len(self.changed), "kept": len(self.kept)}

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.changed or self.structure)

    def as_json(self) -> str:
        return json.dumps({"added": self.added, "removed": self.removed, "moved": self.moved,
                           "changed": self.changed, "kept": self.kept,
                           "structure": self.structure, "warnings": self.warnings,
                           "force_remove": self.force_remove}, ensure_ascii=False, sort_keys=True)


# -- planning ------------------------------------------------------------------------------

def plan_sync(session: Session, mapping: DirectoryMapping, members: Members, *,
              force_remove: bool = False) -> SyncPlan:
    """What the directory would become, and the changes; nothing is written."""
    return _Planner(session, mapping, members, force_remove).plan()


class _Planner:
    def __init__(self, session: Session, mapping: DirectoryMapping, members: Members,
                 force_remove: bool) -> None:
        self.session, self.mapping, self.members = session, mapping, members
        self.force_remove = force_remove
        self.warnings: list[str] = []
        self.rows = {p.id: p for p in session.exec(select(Person))}
        self.memberships: dict[str, dict[str, str]] = {}
        for m in session.exec(select(Membership)):
            self.memberships.setdefault(m.person_id, {})[m.group_code] = m.role_in_group
        self.group_areas: dict[str, set[str]] = {}
        for ga in session.exec(select(GroupArea)):
            self.group_areas.setdefault(ga.group_code, set()).add(ga.area_code)

    def plan(self) -> SyncPlan:
        users, seats = self.seats()
        people = self.people(users, seats)  # Entra user id -> PersonData (deputy not yet set)
        groups = self.groups(users, people)
        target_ids = {p.id for p in people.values()}
        leaving = [row for row in self.rows.values() if row.active and row.id not in target_ids]
        work = open_work(self.session, [row.id for row in leaving])
        kept = [row for row in leaving if work.get(row.id) and not self.force_remove]
        everyone = list(people.values()) + [self.unchanged(row) for row in kept]
        everyone = self.with_deputies(everyone, {p.email: p.id for p in people.values()})
        groups = self.with_kept_members(groups, kept)
        target = DirectoryData(
            authorities=tuple(AuthorityData(a.code, a.name, a.fixed_party)
                              for a in self.mapping.authorities),
            areas=self.mapping.areas, groups=tuple(groups),
            people=tuple(sorted(everyone, key=lambda p: p.id)))
        plan = SyncPlan(target=target, warnings=self.warnings, force_remove=self.force_remove)
        self.diff(plan, leaving, kept, work)
        return plan

    # -- who is in which Entra group -------------------------------------------------------

    def seats(self) -> tuple[dict[str, EntraUser], dict[str, list[tuple[MappedGroup, EntraSource]]]]:
        users: dict[str, EntraUser] = {}
        seats: dict[str, list[tuple[MappedGroup, EntraSource]]] = {}
        for group in self.mapping.groups:
            for source in group.sources:
                for user in self.members.get(source.group_id, ()):
                    key = user.id.lower()
                    users.setdefault(key, user)
                    seats.setdefault(key, []).append((group, source))
        return users, seats

    def people(self, users: dict[str, EntraUser],
               seats: dict[str, list[tuple[MappedGroup, EntraSource]]]) -> dict[str, PersonData]:
        by_teams = {p.teams_user_id.lower(): p for p in self.rows.values() if p.teams_user_id}
        by_email = {p.email.lower(): p for p in self.rows.values()}
        taken: set[str] = set()
        next_number = 1 + max((int(m.group(1)) for m in map(NEW_ID.match, self.rows) if m),
                              default=0)
        out: dict[str, PersonData] = {}
        for key, user in users.items():
            label = (user.display_name or "").strip() or user.id
            if user.account_enabled is False:
                continue  # a blocked account is no longer in the organisation
            email = user.email
            if email is None:
                self.warnings.append(f"{label}: ingen gyldig e-mailadresse i Entra ID; "
                                     "springes over")
                continue
            name = (user.display_name or "").strip()[:TEXT_MAX]
            if not name:
                self.warnings.append(f"{email}: intet navn (displayName) i Entra ID; springes over")
                continue
            row = by_teams.get(key) if not user.guest else None
            if row is None or row.id in taken:
                row = by_email.get(email)
            if row is not None and row.id in taken:
                row = None
            rule = self.mapping.rules_by_email.get(email)
            authority = ((rule.authority if rule else None)
                         or next((s.authority for _, s in seats[key] if s.authority), None)
                         or self.mapping.authority_for(user.department, email)
                         or (row.authority_code if row else None))
            if authority is None:
                self.warnings.append(f"{name} <{email}>: kan ikke placeres hos en myndighed "
                                     f"(afdeling {user.department or 'ukendt'}); springes over")
                continue
            if row is None:
                person_id = f"p{next_number:04d}"
                next_number += 1
            else:
                person_id = row.id
                taken.add(row.id)
            teams_id = (row.teams_user_id if row else None) if user.guest else key
            channels = (tuple(row.channel_list) if row and row.channel_list
                        else ("teams", "email") if teams_id else ("email",))
            out[key] = PersonData(
                id=person_id, name=name, role=self.role(rule, row, seats[key]),
                authority=authority, email=email, title=(user.job_title or "").strip()[:TEXT_MAX],
                teams_user_id=teams_id, deputy=row.deputy_id if row else None,
                channels=channels, phone=self.phone(user, name))
        return out

    def role(self, rule, row: Person | None, seats: list[tuple[MappedGroup, EntraSource]]) -> str:
        if rule is not None and rule.role:
            return rule.role
        lists = [source.roles for _, source in seats if source.roles]
        if not lists:
            return row.role if row else self.mapping.default_role
        common = [r for r in lists[0] if all(r in other for other in lists)]
        candidates = common or list(dict.fromkeys(r for roles in lists for r in roles))
        return row.role if row is not None and row.role in candidates else candidates[0]

    def phone(self, user: EntraUser, name: str) -> str | None:
        raw = (user.mobile_phone or "").strip()
        if not raw:
            return None
        value = " ".join(re.sub(r"[-().]", " ", raw).split())
        if PHONE.match(value) and len(value) <= 32:
            return value
        self.warnings.append(f"{name}: mobilnummeret {raw!r} i Entra ID kan ikke bruges; "
                             "gemmes ikke")
        return None

    # -- groups ----------------------------------------------------------------------------

    def groups(self, users: dict[str, EntraUser], people: dict[str, PersonData]) -> list[GroupData]:
        by_email = {p.email: p.id for p in people.values()}
        out: list[GroupData] = []
        for group in self.mapping.groups:
            seats: dict[str, str] = {}
            for source in group.sources:
                for user in self.members.get(source.group_id, ()):
                    person = people.get(user.id.lower())
                    if person is None:
                        continue
                    seats[person.id] = _stronger(seats.get(person.id), source.role_in_group)
            chair = by_email.get(group.chair) if group.chair else None
            if group.chair and chair not in seats:
                self.warnings.append(f"{group.code}: formanden {group.chair} er ikke medlem af "
                                     "gruppen i Entra ID; gruppen får ingen formand")
                chair = None
            if chair:
                seats[chair] = "formand"
            if not seats and group.kind != "ekstern":
                self.warnings.append(f"{group.code}: ingen medlemmer i Entra ID")
            areas = group.areas
            out.append(GroupData(code=group.code, kind=group.kind, name=group.name, areas=areas,
                                 chair=chair, teams_channel=group.teams_channel,
                                 members=tuple(MemberData(p, r) for p, r in sorted(seats.items()))))
        return out

    def with_kept_members(self, groups: list[GroupData], kept: list[Person]) -> list[GroupData]:
        """Kept people keep their seats in the groups that still exist."""
        out = []
        for group in groups:
            extra = tuple(MemberData(row.id, self.memberships[row.id][group.code]) for row in kept
                          if group.code in self.memberships.get(row.id, {}))
            out.append(replace(group, members=group.members + extra) if extra else group)
        return out

    # -- people kept as they are, and deputies ---------------------------------------------

    @staticmethod
    def unchanged(row: Person) -> PersonData:
        return PersonData(id=row.id, name=row.name, role=row.role, authority=row.authority_code,
                          email=row.email, title=row.title or "", teams_user_id=row.teams_user_id,
                          deputy=row.deputy_id, channels=tuple(row.channel_list), phone=row.phone)

    def with_deputies(self, people: list[PersonData], id_by_email: dict[str, str]
                      ) -> list[PersonData]:
        ids = {p.id for p in people}
        out = []
        for person in people:
            rule = self.mapping.rules_by_email.get(person.email)
            deputy = person.deputy
            if rule is not None and rule.deputy:
                deputy = id_by_email.get(rule.deputy)
                if deputy is None:
                    self.warnings.append(f"{person.name}: suppleanten {rule.deputy} er ikke i "
                                         "Entra-grupperne")
            if deputy not in ids or deputy == person.id:
                deputy = None
            out.append(person if deputy == person.deputy else replace(person, deputy=deputy))
        return out

    # -- what changes ----------------------------------------------------------------------

    def diff(self, plan: SyncPlan, leaving: list[Person], kept: list[Person],
             work: dict[str, list[OpenWork]]) -> None:
        target = plan.target
        plan.names = {i: r.name for i, r in self.rows.items()} | {p.id: p.name for p in target.people}
        group_areas = {g.code: set(g.areas) for g in target.groups}
        seats_after: dict[str, dict[str, str]] = {}
        for group in target.groups:
            for member in group.members:
                seats_after.setdefault(member.person, {})[group.code] = member.role
        kept_ids = {row.id for row in kept}
        for person in target.people:
            row = self.rows.get(person.id)
            after = seats_after.get(person.id, {})
            if row is None or not row.active:
                plan.added.append({
                    "id": person.id, "name": person.name, "email": person.email,
                    "authority": person.authority, "role": person.role,
                    "groups": [{"group": g, "role": r} for g, r in sorted(after.items())],
                    "reactivated": row is not None})
                continue
            if person.id in kept_ids:
                continue
            before = self.memberships.get(person.id, {})
            moved = {
                "joined": [{"group": g, "role": r} for g, r in sorted(after.items())
                           if g not in before],
                "left": sorted(g for g in before if g not in after),
                "role_changes": [{"group": g, "from": before[g], "to": r}
                                 for g, r in sorted(after.items())
                                 if g in before and before[g] != r],
                "authority": ([row.authority_code, person.authority]
                              if row.authority_code != person.authority else None)}
            areas_before = set().union(*(self.group_areas.get(g, set()) for g in before))
            areas_after = set().union(*(group_areas.get(g, set()) for g in after))
            if areas_before != areas_after:
                moved["areas"] = [sorted(areas_before), sorted(areas_after)]
            if any(moved.values()):
                plan.moved.append({"id": person.id, "name": person.name, **moved})
            old = {"name": row.name, "title": row.title or "", "email": row.email,
                   "phone": row.phone, "role": row.role, "teams_user_id": row.teams_user_id,
                   "deputy": row.deputy_id}
            new = {"name": person.name, "title": person.title, "email": person.email,
                   "phone": person.phone, "role": person.role,
                   "teams_user_id": person.teams_user_id, "deputy": person.deputy}
            fields = {k: [old[k], new[k]] for k in old if old[k] != new[k]}
            if fields:
                plan.changed.append({"id": person.id, "name": person.name, "fields": fields})
        for row in sorted(leaving, key=lambda r: (r.name, r.id)):
            entry = {"id": row.id, "name": row.name, "email": row.email,
                     "groups": sorted(self.memberships.get(row.id, {})),
                     "open_work": [str(w) for w in work.get(row.id, [])],
                     "incidents": sorted({w.incident_id for w in work.get(row.id, [])})}
            if work.get(row.id):
                plan.open_work[row.id] = work[row.id]
            (plan.kept if row.id in kept_ids else plan.removed).append(entry)
        plan.structure = self.structure(target)
        if not any(p for p in target.people if p.id not in kept_ids) and leaving:
            raise SyncRefused("Entra-grupperne i mappingfilen har ingen brugbare medlemmer; "
                              "synkroniseringen ville fjerne alle. Intet er ændret.")

    def structure(self, target: DirectoryData) -> list[str]:
        lines: list[str] = []
        session = self.session
        authorities = {a.code: a for a in session.exec(select(Authority))}
        for a in target.authorities:
            row = authorities.get(a.code)
            if row is None or not row.active:
                lines.append(f"myndigheden {a.code} ({a.name}) oprettes")
            elif (row.name, row.fixed_party) != (a.name, a.fixed_party):
                lines.append(f"myndigheden {a.code} ændres")
        lines += [f"myndigheden {code} gøres inaktiv" for code, row in sorted(authorities.items())
                  if row.active and code not in {a.code for a in target.authorities}]
        areas = {a.code: a for a in session.exec(select(Area))}
        for a in target.areas:
            row = areas.get(a.code)
            if row is None or not row.active:
                lines.append(f"området {a.code} ({a.name}) oprettes")
            elif (row.name, row.bydel) != (a.name, a.bydel):
                lines.append(f"området {a.code} ændres")
        lines += [f"området {code} gøres inaktivt" for code, row in sorted(areas.items())
                  if row.active and code not in {a.code for a in target.areas}]
        groups = {g.code: g for g in session.exec(select(Group))}
        names = {p.id: p.name for p in target.people} | {i: r.name for i, r in self.rows.items()}
        for g in target.groups:
            row = groups.get(g.code)
            if row is None or not row.active:
                lines.append(f"gruppen {g.code} ({g.name}) oprettes")
                continue
            what = []
            if (row.name, row.kind) != (g.name, g.kind):
                what.append("navn/type")
            if (row.teams_channel_id or None) != g.teams_channel:
                what.append("Teams-kanal")
            if self.group_areas.get(g.code, set()) != set(g.areas):
                what.append("områder " + ", ".join(sorted(g.areas)))
            if row.chair_id != g.chair:
                what.append(f"formand {names.get(row.chair_id, 'ingen')} → "
                            f"{names.get(g.chair, 'ingen')}")
            if what:
                lines.append(f"gruppen {g.code}: " + "; ".join(what))
        lines += [f"gruppen {code} gøres inaktiv" for code, row in sorted(groups.items())
                  if row.active and code not in {g.code for g in target.groups}]
        return lines


def _stronger(current: str | None, role: str) -> str:
    if current is None:
        return role
    return min(current, role, key=ROLE_IN_GROUP_STRENGTH.index)


# -- applying ------------------------------------------------------------------------------

def apply_sync(engine: Engine, mapping: DirectoryMapping, members: Members, *, run_by: str,
               mapping_file: str = "", force_remove: bool = False,
               after: Callable[[Session, SyncPlan, DirectorySync], None] | None = None,
               now: datetime | None = None) -> tuple[SyncPlan, DirectorySync]:
    """Plan against the database and apply it, in one transaction, and record the sync.

    ``after(session, plan, record)`` runs in the same transaction (the nightly job alerts the
    secretariat there). Raises ``SyncRefused`` before anything is written.
    """
    started = now or utcnow()
    with transaction(engine) as session:
        plan = plan_sync(session, mapping, members, force_remove=force_remove)
        import_directory(session, plan.target)
        counts = plan.counts
        entry = DirectorySync(started_at=started, finished_at=utcnow(), run_by=run_by[:100],
                              mapping_file=mapping_file[:500], forced=force_remove,
                              diff=plan.as_json(), **counts)
        session.add(entry)
        session.flush()
        if after is not None:
            after(session, plan, entry)
    return plan, entry


# -- in Danish -----------------------------------------------------------------------------

def _seats(groups: list[dict]) -> str:
    return ", ".join(f"{g['group']} ({g['role']})" for g in groups) or "ingen grupper"


def describe(plan: SyncPlan) -> list[str]:
    """The changes, one line per person, grouped, in Danish."""
    lines: list[str] = []

    def section(title: str, items: list, render) -> None:
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines.extend(f"  {render(item)}" for item in items)

    section("Nye personer", plan.added, lambda p: (
        f"+ {p['name']} <{p['email']}> ({p['id']}) – {p['authority']}, {p['role']}; "
        f"{_seats(p['groups'])}" + (" (genaktiveres)" if p["reactivated"] else "")))
    section("Fjernes (gøres inaktive)", plan.removed, lambda p: (
        f"- {p['name']} <{p['email']}> ({p['id']}) – var i {', '.join(p['groups']) or 'ingen grupper'}"
        + (f"; FJERNES TRODS ÅBENT ARBEJDE (--force-remove): {'; '.join(p['open_work'])}"
           if p["open_work"] else "")))
    section("Flyttes", plan.moved, _moved_line)
    section("Ændrede oplysninger", plan.changed, lambda p: (
        f"~ {p['name']} ({p['id']}): " + "; ".join(
            f"{PERSON_FIELDS[k]} {_show(old, plan.names if k == 'deputy' else None)} → "
            f"{_show(new, plan.names if k == 'deputy' else None)}"
            for k, (old, new) in p["fields"].items())))
    section("Bevares aktive, selv om de ikke længere er i Entra ID, fordi de ejer åbent arbejde "
            "(brug --force-remove for at fjerne dem)", plan.kept, lambda p: (
                f"! {p['name']} <{p['email']}> ({p['id']}): {'; '.join(p['open_work'])}"))
    section("Myndigheder, områder og grupper", plan.structure, lambda line: f"* {line}")
    section("Advarsler", plan.warnings, lambda line: f"? {line}")
    return lines


def _moved_line(p: dict) -> str:
    parts = []
    if p["left"]:
        parts.append("ud af " + ", ".join(p["left"]))
    if p["joined"]:
        parts.append("ind i " + _seats(p["joined"]))
    parts += [f"{c['group']}: {c['from']} → {c['to']}" for c in p["role_changes"]]
    if p.get("areas"):
        before, after = p["areas"]
        parts.append(f"områder {', '.join(before) or 'ingen'} → {', '.join(after) or 'ingen'}")
    if p["authority"]:
        parts.append(f"myndighed {p['authority'][0]} → {p['authority'][1]}")
    return f"~ {p['name']} ({p['id']}): " + "; ".join(parts)


def _show(value, names: dict[str, str] | None = None) -> str:
    if value in (None, ""):
        return "(intet)"
    if names is not None:  # a person id
        return f"{names.get(value, value)} ({value})"
    return f'"{value}"'


def summary(plan: SyncPlan) -> str:
    c = plan.counts
    return (f"{c['added']} nye, {c['removed']} fjernet, {c['moved']} flyttet, "
            f"{c['changed']} ændret, {c['kept']} bevaret på grund af åbent arbejde")
