"""The demo organisation as Entra ID would hold it, and the mapping file that reads it back.

Each SSP group is one Entra group holding all its members (named like the group), plus one Entra
group per role that matters for alerting (its SSP-ledere, sekretærer, suppleanter), because Entra
groups have members, not roles. Group ids are stable GUIDs derived from the group's code; a user's
id is the person's Teams user id (the Entra object id). People without one (the external
contacts) are guests. ``emulator_directory`` gives the emulator's users and groups;
``mapping_text`` writes ``data/demo-entra-mapping.yaml``, which ``beredskab directory sync``
reads::

    python -m handleplaner.directory.entra_demo              # writes the mapping file
    python -m handleplaner.directory.entra_demo --emulator   # prints the emulator's JSON
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .file import DirectoryData, GroupData, PersonData, load_directory
from .models import ROLES

DATA = Path(__file__).parent / "data"
DEMO_MAPPING = DATA / "demo-entra-mapping.yaml"
NAMESPACE = "https://ssp-beredskab.example/entra-demo/"
GUEST_DOMAIN = "sspkbh.onmicrosoft.com"
#: The roles in a group that get an Entra group of their own, with its name's suffix.
ROLE_GROUPS = {"ssp-leder": "SSP-ledere", "sekretær": "sekretærer", "suppleant": "suppleanter"}
#: Kinds whose members all belong to one authority, which the mapping then names.
ONE_AUTHORITY_KINDS = frozenset({"sekretariat", "ekstern"})


def entra_group_id(group_code: str, role_in_group: str | None = None) -> str:
    """The stable object id of the Entra group behind an SSP group (or one of its roles)."""
    name = group_code if role_in_group is None else f"{group_code}/{role_in_group}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE + name))


def entra_user_id(person: PersonData) -> str:
    if person.teams_user_id:
        return person.teams_user_id
    return str(uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE + "guest/" + person.email))


@dataclass(frozen=True)
class DemoEntraGroup:
    id: str
    display_name: str
    group: GroupData
    role_in_group: str  # "medlem" for the group of all members
    person_ids: tuple[str, ...]


def demo_groups(data: DirectoryData) -> list[DemoEntraGroup]:
    out: list[DemoEntraGroup] = []
    for group in data.groups:
        out.append(DemoEntraGroup(id=entra_group_id(group.code), display_name=group.name,
                                  group=group, role_in_group="medlem",
                                  person_ids=tuple(m.person for m in group.members)))
        for role, suffix in ROLE_GROUPS.items():
            holders = tuple(m.person for m in group.members if m.role == role)
            if holders:
                out.append(DemoEntraGroup(id=entra_group_id(group.code, role),
                                          display_name=f"{group.name} – {suffix}", group=group,
                                          role_in_group=role, person_ids=holders))
    return out


def graph_user(person: PersonData, authority_name: str) -> dict:
    """The person as a Graph user object."""
    guest = not person.teams_user_id
    local, _, domain = person.email.partition("@")
    given, _, surname = person.name.partition(" ")
    return {
        "id": entra_user_id(person),
        "displayName": person.name,
        "givenName": given,
        "surname": surname or None,
        "mail": person.email,
        "userPrincipalName": f"{local}_{domain}#EXT#@{GUEST_DOMAIN}" if guest else person.email,
        "jobTitle": person.title or None,
        "department": authority_name,
        "mobilePhone": person.phone,
        "businessPhones": [],
        "accountEnabled": True,
        "userType": "Guest" if guest else "Member",
    }


def emulator_directory(data: DirectoryData) -> dict:
    """The emulator's `EmulatorConfig.directory`: users and groups in Graph's shape."""
    authority_names = {a.code: a.name for a in data.authorities}
    people = {p.id: p for p in data.people}
    users = [graph_user(p, authority_names[p.authority]) for p in data.people]
    groups = [{"id": g.id, "displayName": g.display_name, "securityEnabled": True,
               "mailEnabled": False, "mailNickname": g.id[:8],
               "members": [entra_user_id(people[i]) for i in g.person_ids]}
              for g in demo_groups(data)]
    return {"users": users, "groups": groups}


# -- the mapping file --------------------------------------------------------------------------

def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _roles_of(person_ids: tuple[str, ...], people: dict[str, PersonData]) -> list[str]:
    counts = Counter(people[i].role for i in person_ids)
    order = list(ROLES)
    return sorted(counts, key=lambda r: (-counts[r], order.index(r)))


def mapping_text(data: DirectoryData) -> str:
    """The demo's mapping file: every SSP group fed by its Entra groups."""
    people = {p.id: p for p in data.people}
    domains: dict[str, list[str]] = {}
    for person in data.people:
        domain = person.email.rpartition("@")[2]
        domains.setdefault(person.authority, [])
        if domain not in domains[person.authority]:
            domains[person.authority].append(domain)
    lines = [
        "# SSP Beredskab: hvilke Entra ID-grupper udgør SSP-organisationen (demo, alle fiktive).",
        "# Læses af: beredskab directory sync --mapping <denne fil> [--apply]",
        "# Genereret af: python -m handleplaner.directory.entra_demo; ret dér, ikke her.",
        "default_role: medarbejder",
        "authorities:",
    ]
    for authority in data.authorities:
        lines.append(f"  - code: {authority.code}")
        lines.append(f"    name: {_q(authority.name)}")
        lines.append(f"    fixed_party: {'true' if authority.fixed_party else 'false'}")
        if domains.get(authority.code):
            lines.append(f"    domains: [{', '.join(domains[authority.code])}]")
    lines.append("areas:")
    for area in data.areas:
        lines.append(f"  - {{code: {area.code}, name: {_q(area.name)}, bydel: {_q(area.bydel)}}}")
    lines.append("groups:")
    all_areas = {a.code for a in data.areas}
    by_group: dict[str, list[DemoEntraGroup]] = {}
    for entra in demo_groups(data):
        by_group.setdefault(entra.group.code, []).append(entra)
    for group in data.groups:
        lines.append(f"  - code: {group.code}")
        lines.append(f"    kind: {group.kind}")
        lines.append(f"    name: {_q(group.name)}")
        if group.areas:
            if set(group.areas) == all_areas and len(group.areas) > 1:
                lines.append("    areas: all")
            else:
                lines.append(f"    areas: [{', '.join(group.areas)}]")
        if group.teams_channel:
            lines.append(f"    teams_channel: {_q(group.teams_channel)}")
        if group.chair:
            lines.append(f"    chair: {people[group.chair].email}")
        lines.append("    entra:")
        for entra in by_group[group.code]:
            lines.append(f"      - group: {entra.id}  # {entra.display_name}")
            if entra.role_in_group != "medlem":
                lines.append(f"        role_in_group: {entra.role_in_group}")
            lines.append(f"        roles: [{', '.join(_roles_of(entra.person_ids, people))}]")
            authorities = {people[i].authority for i in entra.person_ids}
            if group.kind in ONE_AUTHORITY_KINDS and len(authorities) == 1:
                lines.append(f"        authority: {authorities.pop()}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from . import DEMO_ORGANISATION

    parser = argparse.ArgumentParser(prog="python -m handleplaner.directory.entra_demo")
    parser.add_argument("--emulator", action="store_true",
                        help="print the emulator's users and groups (JSON) instead")
    parser.add_argument("--out", type=Path, default=DEMO_MAPPING)
    args = parser.parse_args(argv)
    data = load_directory(DEMO_ORGANISATION)
    if args.emulator:
        json.dump(emulator_directory(data), sys.stdout, ensure_ascii=False, indent=1)
        return 0
    args.out.write_text(mapping_text(data), encoding="utf-8")
    print(f"skrevet: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
