"""Helpers for the sync tests: the emulator serving the demo organisation's Entra groups, and
changes to them as the secretariat would make them in Entra ID."""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.directory import DEMO_ORGANISATION, load_directory
from handleplaner.directory.entra_demo import (emulator_directory, entra_group_id,
                                               entra_user_id)
from handleplaner.directory.models import (DirectorySync, Group, GroupArea, Membership,
                                           Person)

DEMO = load_directory(DEMO_ORGANISATION)


class DemoEntra:
    """The emulator's Entra ID, holding the demo organisation's groups."""

    def __init__(self, emulator, *, page_size: int = 7) -> None:
        self.emulator = emulator
        emulator.directory.load(emulator_directory(DEMO))
        emulator.config.members_page_size = page_size
        self.directory = emulator.directory

    @staticmethod
    def user_id(person_id: str) -> str:
        return entra_user_id(DEMO.person(person_id))

    def groups_of(self, person_id: str) -> list[str]:
        user = self.user_id(person_id)
        return [gid for gid, g in self.directory.groups.items() if user in g["members"]]

    def remove_everywhere(self, person_id: str) -> None:
        for group_id in self.groups_of(person_id):
            self.directory.remove_member(group_id, self.user_id(person_id))

    def move(self, person_id: str, from_group: str, to_group: str) -> None:
        self.directory.remove_member(entra_group_id(from_group), self.user_id(person_id))
        self.directory.add_member(entra_group_id(to_group), self.user_id(person_id))

    def update(self, person_id: str, **properties) -> None:
        self.directory.update_user(self.user_id(person_id), **properties)

    def newcomer(self, group_code: str, *, name: str, email: str, department: str,
                 title: str = "Pædagog") -> str:
        user = self.directory.add_user({
            "displayName": name, "mail": email, "userPrincipalName": email, "jobTitle": title,
            "department": department, "mobilePhone": "+45 00 99 99 99"})
        self.directory.add_member(entra_group_id(group_code), user["id"])
        return user["id"]


def only_in(group_code: str, count: int, *, skip: tuple[str, ...] = ()) -> list[str]:
    """People whose one seat is an ordinary one in ``group_code`` (and nobody's chair)."""
    seats: dict[str, list] = {}
    for group in DEMO.groups:
        for member in group.members:
            seats.setdefault(member.person, []).append((group.code, member.role))
    found = [pid for pid, s in seats.items()
             if s == [(group_code, "medlem")] and pid not in skip]
    return found[:count]


def directory_state(engine) -> dict:
    """Everything the sync may touch, to compare before and after."""
    with Session(engine) as session:
        return {
            "people": sorted((p.id, p.name, p.title, p.email, p.phone, p.role, p.authority_code,
                              p.teams_user_id, p.deputy_id, p.channels, p.active)
                             for p in session.exec(select(Person))),
            "groups": sorted((g.code, g.name, g.chair_id, g.active) for g in session.exec(select(Group))),
            "memberships": sorted((m.group_code, m.person_id, m.role_in_group)
                                  for m in session.exec(select(Membership))),
            "areas": sorted((a.group_code, a.area_code) for a in session.exec(select(GroupArea))),
            "syncs": len(list(session.exec(select(DirectorySync)))),
        }
