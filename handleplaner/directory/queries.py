"""Questions asked of the organisation directory. Plain reads on an explicit session."""
from __future__ import annotations

from typing import Iterable

from sqlmodel import Session, select

from .models import (ACTIVATING_KINDS, ALERTED_ROLES_IN_GROUP, Area, Authority, Group, GroupArea,
                     Membership, Person)


def get_person(session: Session, person_id: str) -> Person | None:
    """The person with ``person_id``, active or not (records name people who have left)."""
    return session.get(Person, person_id)


def people_by_id(session: Session, person_ids) -> dict[str, Person]:
    """The people with these ids (active or not), in one query: id -> person."""
    wanted = {i for i in person_ids if i}
    if not wanted:
        return {}
    return {p.id: p for p in session.exec(select(Person).where(Person.id.in_(wanted)))}


def person_by_email(session: Session, email: str, *, include_inactive: bool = False
                    ) -> Person | None:
    """The person with this e-mail address (case-insensitive); only active people by default."""
    query = select(Person).where(Person.email == (email or "").strip().lower())
    if not include_inactive:
        query = query.where(Person.active == True)  # noqa: E712
    return session.exec(query).first()


def person_by_teams_id(session: Session, teams_user_id: str, *, include_inactive: bool = False
                       ) -> Person | None:
    """The person with this Teams (Entra object) id; only active people by default."""
    query = select(Person).where(Person.teams_user_id == (teams_user_id or "").strip().lower())
    if not include_inactive:
        query = query.where(Person.active == True)  # noqa: E712
    return session.exec(query).first()


def groups_of(session: Session, person_id: str) -> list[Group]:
    """The active groups the person is a member of, by kind and code."""
    query = (select(Group).join(Membership, Membership.group_code == Group.code)
             .where(Membership.person_id == person_id, Group.active == True)  # noqa: E712
             .order_by(Group.kind, Group.code))
    return list(session.exec(query))


def is_secretariat(session: Session, person_id: str) -> bool:
    """A member of the SSP Sekretariat: drafts plans, calls meetings, closes incidents, sees
    every incident."""
    return any(g.kind == "sekretariat" for g in groups_of(session, person_id))


def may_activate(session: Session, person_id: str) -> bool:
    """True for an active member of the secretariat, the styregruppe or any ledergruppe."""
    query = (select(Membership.group_code)
             .join(Group, Group.code == Membership.group_code)
             .join(Person, Person.id == Membership.person_id)
             .where(Membership.person_id == person_id,
                    Person.active == True,  # noqa: E712
                    Group.active == True,  # noqa: E712
                    Group.kind.in_(sorted(ACTIVATING_KINDS)))
             .limit(1))
    return session.exec(query).first() is not None


def ledergruppe_leaders_for_areas(session: Session, area_codes: Iterable[str], *,
                                  include_city_wide: bool | None = None) -> list[Person]:
    """The leaders to alert when beredskab is activated for ``area_codes``.

    These are the active members of the active ledergrupper covering any of the areas who hold
    an alerted role in the group (each fixed party's SSP-leder, the secretariat's consultant, a
    chair) and whose authority is a fixed party. Other leaders in the group are not included:
    the SSP-leder informs their own authority's staff (seed 003 §7.3).

    City-wide ledergrupper (covering every active area, i.e. SSP+) are included when
    ``include_city_wide`` is True, or, when it is None, only if every active area is passed
    (a whole-city incident). Sorted by authority and name, each person once.
    """
    wanted = set(area_codes)
    if not wanted:
        return []
    active_areas = _active_area_codes(session)
    covering = session.exec(
        select(GroupArea.group_code, GroupArea.area_code)
        .join(Group, Group.code == GroupArea.group_code)
        .where(Group.kind == "ledergruppe", Group.active == True)  # noqa: E712
    ).all()
    areas_by_group: dict[str, set[str]] = {}
    for group_code, area_code in covering:
        areas_by_group.setdefault(group_code, set()).add(area_code)
    if include_city_wide is None:
        include_city_wide = bool(active_areas) and active_areas <= wanted
    groups = set()
    for group_code, covered in areas_by_group.items():
        city_wide = bool(active_areas) and active_areas <= covered
        if city_wide and not include_city_wide:
            continue
        if covered & wanted:
            groups.add(group_code)
    if not groups:
        return []
    query = (select(Person)
             .join(Membership, Membership.person_id == Person.id)
             .join(Authority, Authority.code == Person.authority_code)
             .where(Membership.group_code.in_(sorted(groups)),
                    Membership.role_in_group.in_(sorted(ALERTED_ROLES_IN_GROUP)),
                    Person.active == True,  # noqa: E712
                    Authority.fixed_party == True)  # noqa: E712
             .order_by(Person.authority_code, Person.name, Person.id))
    seen: dict[str, Person] = {}
    for person in session.exec(query):
        seen.setdefault(person.id, person)
    return list(seen.values())


def group_members(session: Session, group_code: str, *, include_inactive: bool = False
                  ) -> list[Person]:
    """The members of one group, by name; only active people by default."""
    query = (select(Person).join(Membership, Membership.person_id == Person.id)
             .where(Membership.group_code == group_code))
    if not include_inactive:
        query = query.where(Person.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Person.name, Person.id)))


def memberships(session: Session, group_code: str) -> list[tuple[Person, str]]:
    """(person, role in group) for the active members of one group, by name."""
    query = (select(Person, Membership.role_in_group)
             .join(Membership, Membership.person_id == Person.id)
             .where(Membership.group_code == group_code, Person.active == True)  # noqa: E712
             .order_by(Person.name, Person.id))
    return [(person, role) for person, role in session.exec(query)]


def secretariat_members(session: Session) -> list[Person]:
    """The active members of every active group of kind ``sekretariat``, by name."""
    query = (select(Person).join(Membership, Membership.person_id == Person.id)
             .join(Group, Group.code == Membership.group_code)
             .where(Group.kind == "sekretariat", Group.active == True,  # noqa: E712
                    Person.active == True)  # noqa: E712
             .order_by(Person.name, Person.id))
    seen: dict[str, Person] = {}
    for person in session.exec(query):
        seen.setdefault(person.id, person)
    return list(seen.values())


def get_group(session: Session, group_code: str) -> Group | None:
    return session.get(Group, group_code)


def group_areas(session: Session, group_code: str) -> list[str]:
    """The codes of the areas a group covers, sorted."""
    query = (select(GroupArea.area_code).where(GroupArea.group_code == group_code)
             .order_by(GroupArea.area_code))
    return list(session.exec(query))


def list_groups(session: Session, *, kind: str | None = None, include_inactive: bool = False
                ) -> list[Group]:
    query = select(Group)
    if kind is not None:
        query = query.where(Group.kind == kind)
    if not include_inactive:
        query = query.where(Group.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Group.kind, Group.code)))


def all_areas(session: Session, *, include_inactive: bool = False) -> list[Area]:
    """The local areas, by name; only active ones by default."""
    query = select(Area)
    if not include_inactive:
        query = query.where(Area.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Area.name)))


def area_codes(session: Session) -> set[str]:
    """The codes of the active areas."""
    return _active_area_codes(session)


def _active_area_codes(session: Session) -> set[str]:
    return set(session.exec(select(Area.code).where(Area.active == True)))  # noqa: E712


def list_people(session: Session, authority: str | None = None, group: str | None = None, *,
                include_inactive: bool = False) -> list[Person]:
    """People, by name; filtered by authority code and/or group code; active only by default."""
    query = select(Person)
    if authority is not None:
        query = query.where(Person.authority_code == authority)
    if group is not None:
        query = query.join(Membership, Membership.person_id == Person.id).where(
            Membership.group_code == group)
    if not include_inactive:
        query = query.where(Person.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Person.name, Person.id)))


def authorities(session: Session, *, include_inactive: bool = False) -> list[Authority]:
    """The authorities, by code; only active ones by default."""
    query = select(Authority)
    if not include_inactive:
        query = query.where(Authority.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Authority.code)))


def deputy_of(session: Session, person_id: str) -> Person | None:
    """The person's active deputy (suppleant), if any."""
    person = session.get(Person, person_id)
    if person is None or not person.deputy_id:
        return None
    deputy = session.get(Person, person.deputy_id)
    return deputy if deputy is not None and deputy.active else None
