"""Who is alerted.

At activation: the fixed parties' leaders in the ledergrupper covering the affected areas, and
the SSP Sekretariat (seed 003 §7.3). For a composed alert: an ``AudienceSpec`` of groups, group
kinds × areas, authorities and roles, e.g. "all ledergrupper for Nørrebro and Bispebjerg"
(kinds=[ledergruppe], areas=[...]), "styregruppen" (groups=[styregruppe]), "every SSP leader
city-wide" (roles=[ssp-leder], whole_city). The sender sees the resolved people before sending.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select

from handleplaner.directory import queries as directory
from handleplaner.directory.models import (GROUP_KINDS, ROLES, Group, GroupArea, Membership,
                                           Person)


def activation_audience(session: Session, area_codes: list[str]) -> list:
    """People to alert when beredskab is activated for ``area_codes``, each once, by name."""
    people = {p.id: p for p in directory.ledergruppe_leaders_for_areas(session, area_codes)}
    for person in directory.secretariat_members(session):
        people.setdefault(person.id, person)
    return sorted((p for p in people.values() if p.active), key=lambda p: (p.name, p.id))


def activation_groups(session: Session, area_codes: list[str], whole_city: bool) -> set[str]:
    """Groups whose Teams channels get the activation: the ledergrupper covering the areas
    (the city-wide SSP+ group only for the whole city) and the SSP Sekretariat."""
    all_areas = directory.area_codes(session)
    covered: dict[str, set[str]] = {}
    for code, area in session.exec(select(GroupArea.group_code, GroupArea.area_code)
                                   .join(Group, Group.code == GroupArea.group_code)
                                   .where(Group.kind == "ledergruppe")):
        covered.setdefault(code, set()).add(area)
    chosen = {code for code, areas in covered.items()
              if areas & set(area_codes) and (whole_city or not all_areas <= areas)}
    chosen |= {g.code for g in directory.list_groups(session, kind="sekretariat")}
    return chosen


class AudienceSpec(BaseModel):
    """Who should get an alert. Groups and group kinds × areas pick groups; authorities and roles
    narrow their members. With only authorities and/or roles, everyone active is the base."""

    model_config = ConfigDict(extra="forbid")

    groups: list[str] = Field(default_factory=list, max_length=100)
    kinds: list[str] = Field(default_factory=list, max_length=10)
    areas: list[str] = Field(default_factory=list, max_length=50)
    whole_city: bool = False
    authorities: list[str] = Field(default_factory=list, max_length=20)
    roles: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in GROUP_KINDS]
        if unknown:
            raise ValueError("ukendt gruppetype: " + ", ".join(unknown))
        return values

    @field_validator("roles")
    @classmethod
    def _roles(cls, values: list[str]) -> list[str]:
        from handleplaner.directory.models import MEMBERSHIP_ROLES

        unknown = [v for v in values if v not in ROLES and v not in MEMBERSHIP_ROLES]
        if unknown:
            raise ValueError("ukendt rolle: " + ", ".join(unknown))
        return values

    def is_empty(self) -> bool:
        return not (self.groups or self.kinds or self.authorities or self.roles)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), ensure_ascii=False, sort_keys=True)


class AudienceInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _check_references(session: Session, spec: AudienceSpec) -> None:
    errors = {}
    known_groups = {g.code for g in directory.list_groups(session)}
    if unknown := [g for g in spec.groups if g not in known_groups]:
        errors["groups"] = "ukendt gruppe: " + ", ".join(unknown)
    if unknown := [a for a in spec.areas if a not in directory.area_codes(session)]:
        errors["areas"] = "ukendt område: " + ", ".join(unknown)
    known_authorities = {a.code for a in directory.authorities(session)}
    if unknown := [a for a in spec.authorities if a not in known_authorities]:
        errors["authorities"] = "ukendt myndighed: " + ", ".join(unknown)
    if spec.is_empty():
        errors["audience"] = "vælg mindst én gruppe, gruppetype, myndighed eller rolle"
    if spec.kinds and not (spec.areas or spec.whole_city):
        errors.setdefault("areas", "vælg områder eller 'hele byen' til gruppetyperne")
    if errors:
        raise AudienceInvalid(errors)


def spec_groups(session: Session, spec: AudienceSpec) -> set[str]:
    """The groups the spec picks (explicit groups, and group kinds in the areas)."""
    chosen = set(spec.groups)
    if spec.kinds:
        kinds = select(Group.code).where(Group.kind.in_(spec.kinds), Group.active == True)  # noqa: E712
        if spec.whole_city:
            chosen |= set(session.exec(kinds))
        else:
            chosen |= set(session.exec(
                kinds.join(GroupArea, GroupArea.group_code == Group.code)
                .where(GroupArea.area_code.in_(spec.areas))))
    return chosen


def resolve(session: Session, spec: AudienceSpec) -> list[Person]:
    """The active people the spec names, each once, by name. Raises ``AudienceInvalid``."""
    _check_references(session, spec)
    groups = spec_groups(session, spec)
    if spec.groups or spec.kinds:
        if not groups:
            return []
        query = (select(Person, Membership.role_in_group)
                 .join(Membership, Membership.person_id == Person.id)
                 .where(Membership.group_code.in_(sorted(groups))))
    else:
        query = select(Person, Membership.role_in_group).join(
            Membership, Membership.person_id == Person.id, isouter=True)
    query = query.where(Person.active == True)  # noqa: E712
    if spec.authorities:
        query = query.where(Person.authority_code.in_(spec.authorities))
    people: dict[str, Person] = {}
    for person, role_in_group in session.exec(query):
        if spec.roles and person.role not in spec.roles and role_in_group not in spec.roles:
            continue
        people.setdefault(person.id, person)
    return sorted(people.values(), key=lambda p: (p.name, p.id))


@dataclass
class Preview:
    """What the sender sees before sending."""

    people: list[Person]
    unreachable: list[Person] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.people)

    def by_authority(self) -> dict[str, int]:
        return dict(sorted(Counter(p.authority_code for p in self.people).items()))

    def as_json(self) -> dict:
        return {"count": self.count, "by_authority": self.by_authority(),
                "recipients": [{"id": p.id, "name": p.name, "authority": p.authority_code,
                                "title": p.title, "channels": p.channels} for p in self.people],
                "unreachable": [{"id": p.id, "name": p.name} for p in self.unreachable]}


def preview(session: Session, spec: AudienceSpec) -> Preview:
    from .outbox import channels_of

    people = resolve(session, spec)
    return Preview(people=people, unreachable=[p for p in people if not channels_of(p)])
