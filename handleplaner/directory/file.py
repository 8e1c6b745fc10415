"""The organisation file: YAML with ``authorities``, ``areas``, ``groups`` and ``people``.

``load_directory`` reads and validates the whole file and either returns plain data or raises
``DirectoryError`` listing every problem found, each with its line and field, in Danish::

    linje 42, people[3].email: "x" er ikke en gyldig e-mailadresse

List positions in field names count from 0. The format::

    authorities:
      - {code: BUF, name: Børne- og Ungdomsforvaltningen, fixed_party: true}
    areas:
      - {code: indre-noerrebro, name: Indre Nørrebro, bydel: Nørrebro}
    groups:
      - code: ledergruppe-1
        kind: ledergruppe          # see models.GROUP_KINDS
        name: SSP-ledergruppe 1
        areas: [indre-noerrebro]   # or "all" for every area in the file
        chair: p0001               # optional; must also be a member
        teams_channel: "19:…@thread.tacv2"   # optional; the group's Teams channel for alerts
        members:
          - {person: p0001, role: ssp-leder}   # role: see models.MEMBERSHIP_ROLES
    people:
      - id: p0001
        name: Fiktiv Person
        title: Skoleleder
        role: ssp-leder            # see models.ROLES
        authority: BUF
        email: fiktiv.person@buf.kk.example
        teams_user_id: 3f0c...     # optional, a GUID
        deputy: p0002              # optional suppleant
        channels: [teams, email]   # ordered; teams, email, sms
        phone: "+45 00 00 00 01"   # optional
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from ._yaml import Located, load_located
from .models import AREA_KINDS, CHANNELS, FIXED_GROUP_KINDS, GROUP_KINDS, MEMBERSHIP_ROLES, ROLES

SECTIONS = ("authorities", "areas", "groups", "people")

AUTHORITY_KEYS = {"code": True, "name": True, "fixed_party": False}
AREA_KEYS = {"code": True, "name": True, "bydel": True}
GROUP_KEYS = {"code": True, "kind": True, "name": True, "areas": False, "chair": False,
              "teams_channel": False, "members": False}
TEAMS_CHANNEL = re.compile(r"^19:[0-9A-Za-z_\-]+@thread\.(tacv2|skype)$")
MEMBER_KEYS = {"person": True, "role": False}
PERSON_KEYS = {"id": True, "name": True, "title": False, "role": True, "authority": True,
               "email": True, "teams_user_id": False, "deputy": False, "channels": False,
               "phone": False}

AUTHORITY_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,15}$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ]{5,18}[0-9]$")
TEXT_MAX = 200


_YAML_PROBLEMS = {
    "mapping values are not allowed in this context":
        "et kolon er ikke tilladt her; sæt teksten i anførselstegn",
    "mapping values are not allowed here":
        "et kolon er ikke tilladt her; sæt teksten i anførselstegn",
    "did not find expected node content": "der mangler en værdi",
    "did not find expected key": "forventede en nøgle (forkert indrykning?)",
    "did not find expected '-' indicator": "forventede et listepunkt '-' (forkert indrykning?)",
    "could not find expected ':'": "mangler ':' efter nøglen",
    "found unexpected end of stream": "filen slutter midt i en værdi",
    "found undefined alias": "ukendt YAML-reference",
    "found character '\\t' that cannot start any token": "tabulator er ikke tilladt; brug mellemrum",
    "found character that cannot start any token": "tegnet kan ikke starte en værdi",
    "found a tab character that violates indentation": "tabulator er ikke tilladt; brug mellemrum",
    "found a tab character where an indentation space is expected":
        "tabulator er ikke tilladt; brug mellemrum",
    "expected a single document in the stream": "filen må kun indeholde ét YAML-dokument",
    "but found another document": "filen må kun indeholde ét YAML-dokument",
}


# -- results -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DirectoryProblem:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"linje {self.line}, " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}" if self.field else f"{where}{self.message}"


class DirectoryError(Exception):
    """The organisation file has problems; ``problems`` lists all of them in file order."""

    def __init__(self, problems: list[DirectoryProblem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class AuthorityData:
    code: str
    name: str
    fixed_party: bool = False


@dataclass(frozen=True)
class AreaData:
    code: str
    name: str
    bydel: str


@dataclass(frozen=True)
class MemberData:
    person: str
    role: str = "medlem"


@dataclass(frozen=True)
class GroupData:
    code: str
    kind: str
    name: str
    areas: tuple[str, ...] = ()
    chair: str | None = None
    members: tuple[MemberData, ...] = ()
    teams_channel: str | None = None


@dataclass(frozen=True)
class PersonData:
    id: str
    name: str
    role: str
    authority: str
    email: str
    title: str = ""
    teams_user_id: str | None = None
    deputy: str | None = None
    channels: tuple[str, ...] = ("teams", "email")
    phone: str | None = None


@dataclass(frozen=True)
class DirectoryData:
    authorities: tuple[AuthorityData, ...]
    areas: tuple[AreaData, ...]
    groups: tuple[GroupData, ...]
    people: tuple[PersonData, ...]

    @cached_property
    def _people_by_id(self) -> dict[str, PersonData]:
        return {p.id: p for p in self.people}

    @cached_property
    def _groups_by_code(self) -> dict[str, GroupData]:
        return {g.code: g for g in self.groups}

    def person(self, person_id: str) -> PersonData | None:
        return self._people_by_id.get(person_id)

    def group(self, code: str) -> GroupData | None:
        return self._groups_by_code.get(code)


# -- loading -----------------------------------------------------------------------------------

def load_directory(path_or_text: str | Path | bytes) -> DirectoryData:
    """Read and validate an organisation file (a path, or the YAML text itself).

    A ``Path``, or a one-line string that ends in ``.yaml``/``.yml`` or names an existing file,
    is read as a file; any other string (or bytes) is taken as the YAML text. Raises
    ``DirectoryError`` with every problem found.
    """
    located = parse_yaml(_read(path_or_text))
    checker = _Checker(located)
    data = checker.check()
    if checker.problems:
        raise DirectoryError(checker.sorted_problems())
    return data


def parse_yaml(text: str) -> Located:
    """The YAML document with the line of every value; ``DirectoryError`` on bad syntax."""
    try:
        return load_located(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f", kolonne {mark.column + 1}" if mark is not None else ""
        reason = error.problem or error.context or "ugyldig YAML"
        explained = _YAML_PROBLEMS.get(reason.split(" (")[0].strip())
        text = f"{explained} ({reason}{column})" if explained else f"{reason}{column}"
        raise DirectoryError([DirectoryProblem(line, "yaml", f"YAML-syntaksfejl: {text}")])
    except yaml.YAMLError as error:
        raise DirectoryError([DirectoryProblem(None, "yaml", f"YAML-syntaksfejl: {error}")])


def _read(path_or_text: str | Path | bytes) -> str:
    if isinstance(path_or_text, bytes):
        return _decode(path_or_text, None)
    if isinstance(path_or_text, str):
        single_line = "\n" not in path_or_text and len(path_or_text) < 4096
        looks_like_path = single_line and (
            path_or_text.strip().lower().endswith((".yaml", ".yml"))
            or Path(path_or_text).is_file())
        if not looks_like_path:
            return path_or_text
        path_or_text = Path(path_or_text)
    try:
        raw = Path(path_or_text).read_bytes()
    except FileNotFoundError:
        raise DirectoryError([DirectoryProblem(None, "fil", f"filen {path_or_text} findes ikke")])
    except OSError as error:
        raise DirectoryError([DirectoryProblem(
            None, "fil", f"filen {path_or_text} kan ikke læses: {error.strerror or error}")])
    return _decode(raw, path_or_text)


def _decode(raw: bytes, path: Path | None) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        name = f"filen {path}" if path else "teksten"
        raise DirectoryError([DirectoryProblem(line, "fil", f"{name} er ikke gyldig UTF-8")])


def _field_name(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any) -> str:
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f'"{text}"'


class _Checker:
    """Walks the parsed document once, collecting every problem, then checks references."""

    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[tuple[int, int, DirectoryProblem]] = []
        self.area_refs: list[tuple[tuple, str]] = []
        self.person_refs: list[tuple[tuple, str]] = []
        self.authority_refs: list[tuple[tuple, str]] = []
        self.deputy_refs: list[tuple[tuple, str, str | None]] = []
        for path, line, message in located.problems:
            self.add(path, message, line=line)

    # -- problems --------------------------------------------------------------------------

    def add(self, path: tuple, message: str, *, line: int | None = None) -> None:
        line = line if line is not None else self.located.line(path)
        problem = DirectoryProblem(line, _field_name(path), message)
        self.problems.append((line if line is not None else 0, len(self.problems), problem))

    def sorted_problems(self) -> list[DirectoryProblem]:
        return [p for _, _, p in sorted(self.problems, key=lambda t: (t[0], t[1]))]

    def line_of(self, path: tuple) -> int | None:
        return self.located.line(path)

    def unique(self, seen: dict[str, tuple], key: str, path: tuple, what: str) -> bool:
        """Remember ``key`` at ``path``; report it and return False if it was seen before."""
        if key in seen:
            first = seen[key]
            line = self.line_of(first)
            self.add(path, f"{what} findes allerede i {_field_name(first[:-1])}"
                           + (f" (linje {line})" if line else ""))
            return False
        seen[key] = path
        return True

    # -- field readers ---------------------------------------------------------------------

    def mapping(self, value: Any, path: tuple, keys: dict[str, bool]) -> dict | None:
        if not isinstance(value, dict):
            self.add(path, "skal være en mapping med felterne " + ", ".join(keys))
            return None
        for key in value:
            if key not in keys:
                self.add(path + (key,), f"{_show(key)} er ikke et kendt felt "
                                        f"(tilladt: {', '.join(keys)})")
        for key, required in keys.items():
            if required and key not in value:
                self.add(path + (key,), "skal udfyldes", line=self.line_of(path))
        return value

    def text(self, entry: dict, key: str, path: tuple, *, required: bool = True,
             pattern: re.Pattern | None = None, pattern_message: str = "",
             allow_number: bool = False, max_length: int = TEXT_MAX) -> str | None:
        if key not in entry:
            return None  # a missing required key is reported by mapping()
        value = entry[key]
        where = path + (key,)
        if allow_number and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is not None and not isinstance(value, str):
            self.add(where, "skal være tekst")
            return None
        value = (value or "").strip()
        if not value:
            if required:
                self.add(where, "skal udfyldes")
            return None
        if len(value) > max_length:
            self.add(where, f"er for lang (højst {max_length} tegn)")
            return None
        if pattern is not None and not pattern.match(value):
            self.add(where, f"{_show(value)} {pattern_message}")
            return None
        return value

    def boolean(self, entry: dict, key: str, path: tuple, default: bool) -> bool:
        value = entry.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(path + (key,), "skal være true eller false")
            return default
        return value

    def text_list(self, entry: dict, key: str, path: tuple) -> list[tuple[tuple, str]] | None:
        """A list of texts, each with its path; None when absent or not a list."""
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self.add(path + (key,), "skal være en liste")
            return None
        items = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.add(path + (key, i), "skal være tekst")
                continue
            items.append((path + (key, i), item.strip()))
        return items

    def section(self, root: dict, name: str) -> list[tuple[tuple, Any]]:
        value = root.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.add((name,), "skal være en liste")
            return []
        return [((name, i), item) for i, item in enumerate(value)]

    # -- the document ----------------------------------------------------------------------

    def authority_head(self, entry: dict, path: tuple) -> tuple[str | None, str | None, bool]:
        """An authority's code, name and whether it is a fixed party (None where wrong)."""
        code = self.text(entry, "code", path, pattern=AUTHORITY_CODE, max_length=16,
                         pattern_message="er ikke en gyldig myndighedskode "
                                         "(store bogstaver og tal, fx BUF)")
        return code, self.text(entry, "name", path), self.boolean(entry, "fixed_party", path, False)

    def group_head(self, entry: dict, path: tuple) -> tuple[str | None, ...]:
        """A group's code, kind, name and Teams channel id (None where missing or wrong)."""
        code = self.text(entry, "code", path, pattern=SLUG, max_length=64,
                         pattern_message="er ikke en gyldig gruppekode "
                                         "(små bogstaver a-z, tal og bindestreg)")
        kind = self.text(entry, "kind", path)
        if kind and kind not in GROUP_KINDS:
            self.add(path + ("kind",), f"ukendt gruppetype {_show(kind)} "
                                       f"(tilladt: {', '.join(GROUP_KINDS)})")
            kind = None
        name = self.text(entry, "name", path)
        channel = self.text(entry, "teams_channel", path, required=False, max_length=128)
        if channel and not TEAMS_CHANNEL.match(channel):
            self.add(path + ("teams_channel",), f"{_show(channel)} er ikke et Teams-kanal-id "
                                                "(19:…@thread.tacv2)")
            channel = None
        return code, kind, name, channel

    def check(self) -> DirectoryData | None:
        root = self.located.value
        if not isinstance(root, dict):
            if root is None:
                self.add((), "filen er tom")
            else:
                self.add((), "filen skal være en YAML-mapping med nøglerne " + ", ".join(SECTIONS))
            return None
        self.mapping(root, (), {name: True for name in SECTIONS})
        authorities, authority_codes = self.authorities(root)
        areas, area_codes = self.areas(root)
        people, person_ids = self.people(root)
        groups = self.groups(root, tuple(a.code for a in areas))
        self.references(set(authority_codes), set(area_codes), set(person_ids))
        return DirectoryData(authorities=tuple(authorities), areas=tuple(areas),
                             groups=tuple(groups), people=tuple(people))

    def authorities(self, root: dict) -> tuple[list[AuthorityData], dict[str, tuple]]:
        out, seen = [], {}
        for path, raw in self.section(root, "authorities"):
            entry = self.mapping(raw, path, AUTHORITY_KEYS)
            if entry is None:
                continue
            code, name, fixed = self.authority_head(entry, path)
            if code and not self.unique(seen, code, path + ("code",),
                                        f"myndigheden {_show(code)}"):
                continue
            if code and name:
                out.append(AuthorityData(code=code, name=name, fixed_party=fixed))
        return out, seen

    def areas(self, root: dict) -> tuple[list[AreaData], dict[str, tuple]]:
        out, seen = [], {}
        for path, raw in self.section(root, "areas"):
            entry = self.mapping(raw, path, AREA_KEYS)
            if entry is None:
                continue
            code = self.text(entry, "code", path, pattern=SLUG, max_length=64,
                             pattern_message="er ikke en gyldig områdekode "
                                             "(små bogstaver a-z, tal og bindestreg)")
            name = self.text(entry, "name", path)
            bydel = self.text(entry, "bydel", path, max_length=100)
            if code and not self.unique(seen, code, path + ("code",), f"området {_show(code)}"):
                continue
            if code and name and bydel:
                out.append(AreaData(code=code, name=name, bydel=bydel))
        return out, seen

    def people(self, root: dict) -> tuple[list[PersonData], dict[str, tuple]]:
        out: list[PersonData] = []
        ids: dict[str, tuple] = {}
        emails: dict[str, tuple] = {}
        teams_ids: dict[str, tuple] = {}
        for path, raw in self.section(root, "people"):
            entry = self.mapping(raw, path, PERSON_KEYS)
            if entry is None:
                continue
            before = len(self.problems)
            person_id = self.text(entry, "id", path, pattern=PERSON_ID, max_length=32,
                                  pattern_message="er ikke et gyldigt person-id "
                                                  "(bogstaver, tal, punktum, _ og -; højst 32 tegn)")
            name = self.text(entry, "name", path)
            title = self.text(entry, "title", path, required=False) or ""
            role = self.text(entry, "role", path)
            if role and role not in ROLES:
                self.add(path + ("role",), f"ukendt rolle {_show(role)} "
                                           f"(tilladt: {', '.join(ROLES)})")
            authority = self.text(entry, "authority", path, max_length=16)
            if authority:
                self.authority_refs.append((path + ("authority",), authority))
            email = self.text(entry, "email", path, max_length=254)
            if email is not None:
                if EMAIL.match(email):
                    email = email.lower()
                else:
                    self.add(path + ("email",), f"{_show(email)} er ikke en gyldig e-mailadresse")
                    email = None
            teams_id = self.text(entry, "teams_user_id", path, required=False, max_length=64)
            if teams_id is not None:
                try:
                    teams_id = str(uuid.UUID(teams_id))
                except ValueError:
                    self.add(path + ("teams_user_id",),
                             f"{_show(teams_id)} er ikke et gyldigt Teams-bruger-id (GUID)")
                    teams_id = None
            deputy = self.text(entry, "deputy", path, required=False, max_length=32)
            phone = self.text(entry, "phone", path, required=False, allow_number=True,
                              pattern=PHONE, pattern_message="er ikke et gyldigt telefonnummer",
                              max_length=32)
            channels = self.channels(entry, path)
            if person_id:
                self.unique(ids, person_id, path + ("id",), f"person-id'et {_show(person_id)}")
                if deputy:
                    self.deputy_refs.append((path + ("deputy",), deputy, person_id))
            if email:
                self.unique(emails, email, path + ("email",), f"e-mailadressen {_show(email)}")
            if teams_id:
                self.unique(teams_ids, teams_id, path + ("teams_user_id",),
                            "Teams-bruger-id'et")
            if len(self.problems) == before and person_id and name and role and authority \
                    and email and channels:
                out.append(PersonData(id=person_id, name=name, title=title, role=role,
                                      authority=authority, email=email, teams_user_id=teams_id,
                                      deputy=deputy, channels=tuple(channels), phone=phone))
        return out, ids

    def channels(self, entry: dict, path: tuple) -> list[str] | None:
        has_teams_id = bool(entry.get("teams_user_id"))
        if entry.get("channels") is None:
            return ["teams", "email"] if has_teams_id else ["email"]
        items = self.text_list(entry, "channels", path)
        if items is None:
            return None
        channels: list[str] = []
        for item_path, name in items:
            name = name.lower()
            if name not in CHANNELS:
                self.add(item_path, f"{_show(name)} er ikke en gyldig kanal "
                                    f"(tilladt: {', '.join(CHANNELS)})")
            elif name in channels:
                self.add(item_path, f"kanalen {_show(name)} står flere gange")
            else:
                channels.append(name)
        if not entry["channels"]:
            self.add(path + ("channels",), "skal have mindst én kanal")
            return None
        if "teams" in channels and not has_teams_id:
            self.add(path + ("channels",), "kanalen teams kræver et teams_user_id")
        if "sms" in channels and not entry.get("phone"):
            self.add(path + ("channels",), "kanalen sms kræver et telefonnummer (phone)")
        return channels or None

    def groups(self, root: dict, all_areas: tuple[str, ...]) -> list[GroupData]:
        out, seen = [], {}
        for path, raw in self.section(root, "groups"):
            entry = self.mapping(raw, path, GROUP_KEYS)
            if entry is None:
                continue
            code, kind, name, channel = self.group_head(entry, path)
            chair = self.text(entry, "chair", path, required=False, max_length=32)
            if chair:
                self.person_refs.append((path + ("chair",), chair))
            group_areas = self.group_areas(entry, path, kind, all_areas)
            members = self.members(entry, path, kind)
            if members is not None:
                self.check_chair(path, chair, members)
            if code and not self.unique(seen, code, path + ("code",), f"gruppen {_show(code)}"):
                continue
            if code and kind and name and group_areas is not None and members is not None:
                out.append(GroupData(code=code, kind=kind, name=name, areas=group_areas,
                                     chair=chair, members=tuple(members), teams_channel=channel))
        return out

    def check_chair(self, path: tuple, chair: str | None, members: list[MemberData]) -> None:
        if chair and chair not in {m.person for m in members}:
            self.add(path + ("chair",), f"formanden {_show(chair)} skal også stå under members")
        for i, member in enumerate(members):
            if member.role == "formand" and member.person != chair:
                self.add(path + ("members",),
                         f"{_show(member.person)} har rollen formand, men er ikke gruppens chair")

    def group_areas(self, entry: dict, path: tuple, kind: str | None,
                    all_areas: tuple[str, ...]) -> tuple[str, ...] | None:
        value = entry.get("areas")
        if isinstance(value, str) and value.strip().lower() in ("all", "alle"):
            codes: tuple[str, ...] = all_areas
        elif value is None:
            codes = ()
        else:
            items = self.text_list(entry, "areas", path)
            if items is None:
                return None
            found: list[str] = []
            for item_path, code in items:
                if code in found:
                    self.add(item_path, f"området {_show(code)} står flere gange")
                    continue
                found.append(code)
                self.area_refs.append((item_path, code))
            codes = tuple(found)
        if kind in AREA_KINDS and not codes:
            self.add(path + ("areas",), f"en {kind} skal dække mindst ét område")
        elif kind and kind not in AREA_KINDS and codes:
            self.add(path + ("areas",), f"en gruppe af typen {kind} dækker ikke områder")
        return codes

    def members(self, entry: dict, path: tuple, kind: str | None) -> list[MemberData] | None:
        where = path + ("members",)
        value = entry.get("members")
        if value is None:
            value = []
        if not isinstance(value, list):
            self.add(where, "skal være en liste")
            return None
        members: list[MemberData] = []
        seen: dict[str, tuple] = {}
        for i, raw in enumerate(value):
            item_path = where + (i,)
            if isinstance(raw, str):
                raw = {"person": raw}
            item = self.mapping(raw, item_path, MEMBER_KEYS)
            if item is None:
                continue
            person = self.text(item, "person", item_path, max_length=32)
            role = self.text(item, "role", item_path, required=False) or "medlem"
            if role not in MEMBERSHIP_ROLES:
                self.add(item_path + ("role",), f"ukendt rolle i gruppen {_show(role)} "
                                                f"(tilladt: {', '.join(MEMBERSHIP_ROLES)})")
                continue
            if person is None:
                continue
            self.person_refs.append((item_path + ("person",), person))
            if not self.unique(seen, person, item_path + ("person",),
                               f"medlemmet {_show(person)}"):
                continue
            members.append(MemberData(person=person, role=role))
        if not value and kind in FIXED_GROUP_KINDS:
            self.add(where, f"en {kind} skal have mindst ét medlem")
        return members

    # -- cross references -------------------------------------------------------------------

    def references(self, authority_codes: set[str], area_codes: set[str],
                   person_ids: set[str]) -> None:
        for path, code in self.authority_refs:
            if code not in authority_codes:
                self.add(path, f"ukendt myndighed {_show(code)}")
        for path, code in self.area_refs:
            if code not in area_codes:
                self.add(path, f"ukendt område {_show(code)}")
        for path, person_id in self.person_refs:
            if person_id not in person_ids:
                self.add(path, f"ukendt person {_show(person_id)}")
        for path, deputy, owner in self.deputy_refs:
            if deputy == owner:
                self.add(path, "en person kan ikke være sin egen suppleant")
            elif deputy not in person_ids:
                self.add(path, f"ukendt person {_show(deputy)}")
