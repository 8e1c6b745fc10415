"""The mapping file for ``beredskab directory sync``: which Entra ID groups make up SSP's organisation.

Entra ID holds the people and who is in which group; this file holds what Entra does not: the
authorities and areas, SSP's groups with their kind, areas and Teams channel, and which Entra
groups feed each of them in which role. ``load_mapping`` validates the whole file and raises
``DirectoryError`` listing every problem with its line and field, in Danish, like the
organisation file. The format::

    default_role: medarbejder          # optional: a newcomer's role when no group says
    authorities:
      - code: BUF
        name: Børne- og Ungdomsforvaltningen
        fixed_party: true
        departments: [Børne- og Ungdomsforvaltningen]   # Entra "department"; default: the name
        domains: [buf.kk.example]                       # e-mail domains
    areas:
      - {code: indre-noerrebro, name: Indre Nørrebro, bydel: Nørrebro}
    groups:
      - code: ledergruppe-1
        kind: ledergruppe                  # see models.GROUP_KINDS
        name: SSP-ledergruppe 1
        areas: [indre-noerrebro]           # or "all"
        teams_channel: "19:…@thread.tacv2" # optional
        chair: fiktiv.person@ssp.kk.example  # optional; must be among the members in Entra
        entra:                             # the Entra groups whose members sit in this group
          - group: 6c1f…                   # the Entra group's object id (GUID)
            role_in_group: medlem          # default medlem; ssp-leder, sekretær, suppleant
            roles: [leder, ssp-leder]      # the roles its members may have; a newcomer the first
            authority: SSP                 # optional: every member belongs to this authority
            transitive: false              # optional: members of nested groups too
    people:                                # optional: what Entra cannot tell, per person
      - {email: fiktiv.chef@pol.kk.example, role: chef, authority: POL,
         deputy: fiktiv.souschef@pol.kk.example}

How a member is placed (sync.py): the authority from ``people``, else the first of the member's
Entra groups (in file order) that names one, else the Entra ``department``, else the e-mail
domain. The role from ``people``, else the person's present role if every group that lists
``roles`` allows it, else the first role all of them allow (or any of them, if they disagree),
else ``default_role``. In one SSP group a person holds the strongest of the roles their Entra
groups give (formand, sekretær, ssp-leder, suppleant, medlem); the chair is formand.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .file import EMAIL, AreaData, DirectoryError, _Checker, _read, _show, parse_yaml
from .models import MEMBERSHIP_ROLES, ROLES

SECTIONS = {"authorities": True, "areas": True, "groups": True, "people": False,
            "default_role": False}
AUTHORITY_KEYS = {"code": True, "name": True, "fixed_party": False, "departments": False,
                  "domains": False}
GROUP_KEYS = {"code": True, "kind": True, "name": True, "areas": False, "teams_channel": False,
              "chair": False, "entra": True}
SOURCE_KEYS = {"group": True, "role_in_group": False, "roles": False, "authority": False,
               "transitive": False}
PERSON_KEYS = {"email": True, "role": False, "authority": False, "deputy": False}
DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")

#: Which role wins when a person's Entra groups give several in one SSP group.
ROLE_IN_GROUP_STRENGTH = ("formand", "sekretær", "ssp-leder", "suppleant", "medlem")


@dataclass(frozen=True)
class MappedAuthority:
    code: str
    name: str
    fixed_party: bool = False
    departments: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntraSource:
    """One Entra group feeding one SSP group."""

    group_id: str
    role_in_group: str = "medlem"
    roles: tuple[str, ...] = ()
    authority: str | None = None
    transitive: bool = False


@dataclass(frozen=True)
class MappedGroup:
    code: str
    kind: str
    name: str
    sources: tuple[EntraSource, ...]
    areas: tuple[str, ...] = ()
    teams_channel: str | None = None
    chair: str | None = None  # an e-mail address


@dataclass(frozen=True)
class PersonRule:
    email: str
    role: str | None = None
    authority: str | None = None
    deputy: str | None = None  # an e-mail address


@dataclass(frozen=True)
class DirectoryMapping:
    authorities: tuple[MappedAuthority, ...]
    areas: tuple[AreaData, ...]
    groups: tuple[MappedGroup, ...]
    people: tuple[PersonRule, ...] = ()
    default_role: str = "medarbejder"

    @cached_property
    def entra_group_ids(self) -> tuple[str, ...]:
        """Every Entra group to read, in file order, each once."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for source in group.sources:
                seen.setdefault(source.group_id, None)
        return tuple(seen)

    @cached_property
    def transitive_group_ids(self) -> frozenset[str]:
        return frozenset(s.group_id for g in self.groups for s in g.sources if s.transitive)

    @cached_property
    def rules_by_email(self) -> dict[str, PersonRule]:
        return {rule.email: rule for rule in self.people}

    def authority_for(self, department: str | None, email: str) -> str | None:
        """The authority whose departments name ``department``, else whose domains hold ``email``."""
        wanted = (department or "").strip().casefold()
        if wanted:
            for authority in self.authorities:
                if wanted in {d.casefold() for d in authority.departments or (authority.name,)}:
                    return authority.code
        domain = email.rpartition("@")[2].lower()
        for authority in self.authorities:
            if domain and domain in authority.domains:
                return authority.code
        return None


def load_mapping(path_or_text: str | Path | bytes) -> DirectoryMapping:
    """Read and validate a mapping file (a path, or the YAML text itself); ``DirectoryError``
    lists every problem with its line and field."""
    checker = _MappingChecker(parse_yaml(_read(path_or_text)))
    mapping = checker.check_mapping()
    if checker.problems:
        raise DirectoryError(checker.sorted_problems())
    return mapping


def _email(checker: _Checker, entry: dict, key: str, path: tuple, *,
           required: bool = False) -> str | None:
    value = checker.text(entry, key, path, required=required, max_length=254)
    if value is None:
        return None
    if not EMAIL.match(value):
        checker.add(path + (key,), f"{_show(value)} er ikke en gyldig e-mailadresse")
        return None
    return value.lower()


class _MappingChecker(_Checker):
    def check_mapping(self) -> DirectoryMapping | None:
        root = self.located.value
        if not isinstance(root, dict):
            self.add((), "filen er tom" if root is None else
                     "filen skal være en YAML-mapping med nøglerne " + ", ".join(SECTIONS))
            return None
        self.mapping(root, (), SECTIONS)
        default_role = self.text(root, "default_role", (), required=False) or "medarbejder"
        if default_role not in ROLES:
            self.add(("default_role",), f"ukendt rolle {_show(default_role)} "
                                        f"(tilladt: {', '.join(ROLES)})")
        authorities = self.mapped_authorities(root)
        areas, area_codes = self.areas(root)
        groups = self.mapped_groups(root, tuple(a.code for a in areas))
        people = self.person_rules(root)
        self.references({a.code for a in authorities}, set(area_codes), set())
        return DirectoryMapping(authorities=tuple(authorities), areas=tuple(areas),
                                groups=tuple(groups), people=tuple(people),
                                default_role=default_role)

    # -- authorities -----------------------------------------------------------------------

    def mapped_authorities(self, root: dict) -> list[MappedAuthority]:
        out: list[MappedAuthority] = []
        seen: dict[str, tuple] = {}
        departments: dict[str, tuple] = {}
        domains: dict[str, tuple] = {}
        for path, raw in self.section(root, "authorities"):
            entry = self.mapping(raw, path, AUTHORITY_KEYS)
            if entry is None:
                continue
            code, name, fixed = self.authority_head(entry, path)
            own_departments = []
            for item_path, value in self.text_list(entry, "departments", path) or []:
                if self.unique(departments, value.casefold(), item_path,
                               f"afdelingen {_show(value)}"):
                    own_departments.append(value)
            if name and "departments" not in entry:
                self.unique(departments, name.casefold(), path + ("name",),
                            f"afdelingen {_show(name)}")
            own_domains = []
            for item_path, value in self.text_list(entry, "domains", path) or []:
                value = value.lower().lstrip("@")
                if not DOMAIN.match(value):
                    self.add(item_path, f"{_show(value)} er ikke et gyldigt domæne "
                                        "(fx buf.kk.example)")
                elif self.unique(domains, value, item_path, f"domænet {_show(value)}"):
                    own_domains.append(value)
            if code and not self.unique(seen, code, path + ("code",),
                                        f"myndigheden {_show(code)}"):
                continue
            if code and name:
                out.append(MappedAuthority(code=code, name=name, fixed_party=fixed,
                                           departments=tuple(own_departments),
                                           domains=tuple(own_domains)))
        return out

    # -- groups ----------------------------------------------------------------------------

    def mapped_groups(self, root: dict, all_areas: tuple[str, ...]) -> list[MappedGroup]:
        out: list[MappedGroup] = []
        seen: dict[str, tuple] = {}
        for path, raw in self.section(root, "groups"):
            entry = self.mapping(raw, path, GROUP_KEYS)
            if entry is None:
                continue
            code, kind, name, channel = self.group_head(entry, path)
            chair = _email(self, entry, "chair", path)
            group_areas = self.group_areas(entry, path, kind, all_areas)
            sources = self.sources(entry, path)
            if code and not self.unique(seen, code, path + ("code",), f"gruppen {_show(code)}"):
                continue
            if code and kind and name and group_areas is not None and sources:
                out.append(MappedGroup(code=code, kind=kind, name=name, sources=tuple(sources),
                                       areas=group_areas, teams_channel=channel, chair=chair))
        return out

    def sources(self, entry: dict, path: tuple) -> list[EntraSource] | None:
        where = path + ("entra",)
        value = entry.get("entra")
        if "entra" not in entry:
            return None  # reported by mapping()
        if not isinstance(value, list) or not value:
            self.add(where, "skal være en liste med mindst én Entra-gruppe")
            return None
        out: list[EntraSource] = []
        seen: dict[str, tuple] = {}
        for i, raw in enumerate(value):
            item_path = where + (i,)
            if isinstance(raw, str):
                raw = {"group": raw}
            item = self.mapping(raw, item_path, SOURCE_KEYS)
            if item is None:
                continue
            before = len(self.problems)
            group_id = self.text(item, "group", item_path, max_length=64)
            if group_id is not None:
                try:
                    group_id = str(uuid.UUID(group_id))
                except ValueError:
                    self.add(item_path + ("group",),
                             f"{_show(group_id)} er ikke et gyldigt Entra-gruppe-id (GUID)")
                    group_id = None
            role_in_group = self.text(item, "role_in_group", item_path, required=False) or "medlem"
            if role_in_group == "formand":
                self.add(item_path + ("role_in_group",),
                         "formanden angives med gruppens chair, ikke med en Entra-gruppe")
            elif role_in_group not in MEMBERSHIP_ROLES:
                self.add(item_path + ("role_in_group",),
                         f"ukendt rolle i gruppen {_show(role_in_group)} "
                         f"(tilladt: {', '.join(r for r in MEMBERSHIP_ROLES if r != 'formand')})")
            roles: list[str] = []
            for role_path, role in self.text_list(item, "roles", item_path) or []:
                if role not in ROLES:
                    self.add(role_path, f"ukendt rolle {_show(role)} (tilladt: {', '.join(ROLES)})")
                elif role not in roles:
                    roles.append(role)
            authority = self.text(item, "authority", item_path, required=False, max_length=16)
            if authority:
                self.authority_refs.append((item_path + ("authority",), authority))
            transitive = self.boolean(item, "transitive", item_path, False)
            if group_id and not self.unique(seen, group_id, item_path + ("group",),
                                            f"Entra-gruppen {_show(group_id)}"):
                continue
            if group_id and len(self.problems) == before:
                out.append(EntraSource(group_id=group_id, role_in_group=role_in_group,
                                       roles=tuple(roles), authority=authority,
                                       transitive=transitive))
        return out

    # -- people ----------------------------------------------------------------------------

    def person_rules(self, root: dict) -> list[PersonRule]:
        out: list[PersonRule] = []
        seen: dict[str, tuple] = {}
        for path, raw in self.section(root, "people"):
            entry = self.mapping(raw, path, PERSON_KEYS)
            if entry is None:
                continue
            email = _email(self, entry, "email", path)
            role = self.text(entry, "role", path, required=False)
            if role and role not in ROLES:
                self.add(path + ("role",), f"ukendt rolle {_show(role)} "
                                           f"(tilladt: {', '.join(ROLES)})")
                role = None
            authority = self.text(entry, "authority", path, required=False, max_length=16)
            if authority:
                self.authority_refs.append((path + ("authority",), authority))
            deputy = _email(self, entry, "deputy", path)
            if deputy and deputy == email:
                self.add(path + ("deputy",), "en person kan ikke være sin egen suppleant")
                deputy = None
            if email and self.unique(seen, email, path + ("email",),
                                     f"e-mailadressen {_show(email)}"):
                out.append(PersonRule(email=email, role=role, authority=authority, deputy=deputy))
        return out


__all__ = ["DirectoryMapping", "EntraSource", "MappedAuthority", "MappedGroup",
           "PersonRule", "ROLE_IN_GROUP_STRENGTH", "load_mapping"]
