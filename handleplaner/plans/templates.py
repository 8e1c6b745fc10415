"""Plan templates: what a new handleplan or beredskabsplan proposes, per incident type or event.

The secretariat edits the YAML files in ``templates/plans/`` (one template a file; the format is
described at the top of each file). ``load_plan_templates`` reads and checks all of them and
either returns the templates by code or raises ``PlanTemplateError`` listing every problem in
every file, each with file, line and field, in Danish::

    templates/plans/skyderi.yaml, linje 12, measures[2].authority: ukendt myndighed "XYZ"

The texts (purpose, background, evaluation, measure titles and descriptions, the communication
plan's audience and what) are Jinja2 templates filled with the incident's facts (``FACT_NAMES``)
by ``render_plan_template``; they are compiled when loading, so a syntax error is found then.
List positions in field names count from 0.
"""
from __future__ import annotations

import math
import re
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

from beredskab_templates import folder as templates_folder
from beredskab_templates import label as template_label
from handleplaner.directory._yaml import Located, load_located
from handleplaner.directory.file import _YAML_PROBLEMS
from handleplaner.incidents.kinds import INCIDENT_TYPES

from .measures import AUTHORITIES, MEASURE_TYPES, USUAL_OWNER

TEMPLATE_DIRECTORY = templates_folder() / "plans"

PLAN_KINDS: dict[str, str] = {
    "handleplan": "Handleplan (akut hændelse)",
    "beredskabsplan": "Beredskabsplan (planlagt begivenhed)",
}
CONFIDENTIALITY: dict[str, str] = {
    "fortrolig": "Fortrolig (§115 – kun beredskabets parter)",
    "intern": "Intern",
    "offentlig": "Offentlig (uden personoplysninger)",
}
# The facts a template text may use; render_plan_template is given these.
FACT_NAMES: tuple[str, ...] = ("reference", "type_label", "severity_label", "areas", "area_label",
                               "occurred", "title", "exercise", "period_days")

TOP_KEYS = {"code": True, "name": True, "plan_kind": True, "incident_types": False,
            "default_period_days": True, "drafting_lead_days": False, "purpose": True,
            "background": True, "measures": True, "communication": True,
            "evaluation_offset_days": True, "evaluation": True}
MEASURE_KEYS = {"key": True, "title": True, "measure_type": True, "authority": False,
                "start_offset_hours": True, "duration_hours": True, "description": False}
COMMUNICATION_KEYS = {"audience": True, "what": True, "when_offset_hours": True,
                      "confidentiality": True}

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE_MAX = 64      # plan.template_code
KEY_MAX = 32       # plan_measure.key
LINE_MAX = 200     # plan_measure.title, plan_communication.audience, the template's name
PERIOD_MAX_DAYS = 365
# A literal block (``key: |``): text line n is YAML line key_line + n.
_LITERAL_BLOCK = re.compile(r":\s*\|[-+1-9]{0,2}\s*(#.*)?$")
# A plain YAML value that starts like Jinja (YAML reads "{" as the start of a mapping).
_UNQUOTED_JINJA = re.compile(r"(^|:|-)\s+\{[{%]")
_MORE_YAML_PROBLEMS = {
    "did not find expected ',' or ']'": "mangler ',' eller ']' i listen",
    "did not find expected ',' or '}'": "mangler ',' eller '}'",
    "found unhashable key": "en værdi, der begynder med '{', skal stå i anførselstegn",
}
# A line that starts a list item keeps its own line when a text is flowed into paragraphs.
_LIST_ITEM = re.compile(r"^([-*•]|\d+[.)])\s")


# -- results -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanTemplateProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"linje {self.line}")
        if self.field:
            parts.append(self.field)
        return f"{', '.join(parts)}: {self.message}"


class PlanTemplateError(Exception):
    """Plan templates with problems; ``problems`` lists all of them, file by file, in line order."""

    def __init__(self, problems: list[PlanTemplateProblem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class MeasureTemplate:
    key: str
    title: str
    measure_type: str
    authority: str
    start_offset_hours: float
    duration_hours: float
    description: str


@dataclass(frozen=True)
class CommunicationTemplate:
    audience: str
    what: str
    when_offset_hours: float
    confidentiality: str  # fortrolig (§115, only the parties) | intern | offentlig


@dataclass(frozen=True)
class PlanTemplate:
    code: str
    name: str
    plan_kind: str  # handleplan (acute) | beredskabsplan (planned)
    incident_types: tuple[str, ...]
    default_period_days: int
    purpose: str
    background: str
    measures: tuple[MeasureTemplate, ...]
    communication: tuple[CommunicationTemplate, ...]
    evaluation_offset_days: int
    evaluation: str
    drafting_lead_days: int | None  # planned plans: days before the event drafting must start
    source: Path
    # Where each text is in the file, for messages: field -> (line of the text's first line,
    # whether the text's lines are the file's lines one to one, i.e. a ``|`` block).
    text_lines: Mapping[str, tuple[int, bool]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False)


@dataclass(frozen=True)
class RenderedMeasure:
    key: str
    title: str
    measure_type: str
    authority: str
    start_offset_hours: float
    duration_hours: float
    description: str


@dataclass(frozen=True)
class RenderedCommunication:
    audience: str
    what: str
    when_offset_hours: float
    confidentiality: str


@dataclass(frozen=True)
class RenderedPlan:
    template_code: str
    plan_kind: str
    purpose: str
    background: str
    evaluation: str
    default_period_days: int
    evaluation_offset_days: int
    measures: tuple[RenderedMeasure, ...]
    communication: tuple[RenderedCommunication, ...]
    name: str = ""


# -- Jinja -------------------------------------------------------------------------------------

def _environment() -> SandboxedEnvironment:
    # Plain texts: no autoescaping; an unknown variable is an error, never an empty string.
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                trim_blocks=True, lstrip_blocks=True)


_ENV = _environment()


@lru_cache(maxsize=2048)
def _compile(source: str) -> Template:
    return _ENV.from_string(source)


def flow(text: str) -> str:
    """A rendered text as paragraphs: the line breaks within a paragraph (how the YAML file is
    wrapped) become spaces, a blank line separates paragraphs, and a line that starts with
    "- ", "* ", "• " or "1. " is a list item on its own line."""
    out: list[str] = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            if out and out[-1]:
                out.append("")
        elif out and out[-1] and not _LIST_ITEM.match(line):
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)


def _template_line(error: BaseException) -> int | None:
    """The template line a rendering error happened at (Jinja rewrites the traceback)."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line


def _file_line(site: tuple[int, bool] | None, text_line: int | None) -> int | None:
    if site is None:
        return None
    first, literal = site
    if literal and text_line:
        return first + text_line - 1
    return first


# -- loading -----------------------------------------------------------------------------------

_LOADED: dict[tuple, dict[str, PlanTemplate]] = {}


def load_plan_templates(directory: Path = TEMPLATE_DIRECTORY, *,
                        fact_names: Iterable[str] | None = FACT_NAMES) -> dict[str, PlanTemplate]:
    """Read and check every ``*.yaml`` in ``directory``; the templates by code.

    Texts may only use the variables in ``fact_names`` (None: any). Raises ``PlanTemplateError``
    with every problem of every file. The (frozen) result is reused until a file in the folder
    is added, removed or changed, so callers on a schedule do not re-read and re-compile them.
    """
    directory = Path(directory)
    names = frozenset(fact_names) if fact_names is not None else None
    try:
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                      for p in sorted(directory.glob("*.yaml")))
    except OSError:
        stamp = None
    key = (str(directory.resolve()), names, stamp)
    if stamp is not None and key in _LOADED:
        return dict(_LOADED[key])
    templates = _read_plan_templates(directory, names)
    if stamp is not None:
        _LOADED.clear()
        _LOADED[key] = templates
    return dict(templates)


def _read_plan_templates(directory: Path, names: frozenset | None) -> dict[str, PlanTemplate]:
    if not directory.is_dir():
        raise PlanTemplateError([PlanTemplateProblem(
            template_label(directory), None, "", "mappen med planskabeloner findes ikke")])
    problems: list[PlanTemplateProblem] = []
    templates: dict[str, PlanTemplate] = {}
    first_file: dict[str, tuple[str, int | None]] = {}
    for path in sorted(directory.glob("*.yaml")):
        label = template_label(path)
        checker = _Checker(path, label, names)
        template = checker.run()
        if template is not None and template.code in first_file:
            other, other_line = first_file[template.code]
            where = f"{other}, linje {other_line}" if other_line else other
            checker.add(("code",), f'skabelonkoden "{template.code}" bruges allerede i {where}')
            template = None
        elif template is not None:
            first_file[template.code] = (label, checker.located_line(("code",)))
        problems.extend(checker.sorted_problems())
        if template is not None and not checker.problems:
            templates[template.code] = template
    if problems:
        raise PlanTemplateError(problems)
    return templates


def templates_for_incident_type(templates: Mapping[str, PlanTemplate] | Iterable[PlanTemplate],
                                incident_type: str) -> list[PlanTemplate]:
    """The templates that fit an incident type, best first: acute before planned, then those that
    name the type first, then by code."""
    items = templates.values() if isinstance(templates, Mapping) else templates
    fitting = [t for t in items if incident_type in t.incident_types]
    return sorted(fitting, key=lambda t: (t.plan_kind != "handleplan",
                                          t.incident_types.index(incident_type), t.code))


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


def _hours(value: float) -> str:
    return f"{value:g}"


class _Checker:
    """Checks one template file, collecting every problem."""

    def __init__(self, path: Path, label: str, fact_names: frozenset[str] | None) -> None:
        self.path = path
        self.label = label
        self.fact_names = fact_names
        self.problems: list[tuple[int, int, PlanTemplateProblem]] = []
        self.located: Located | None = None
        self.source_lines: list[str] = []
        self.text_lines: dict[str, tuple[int, bool]] = {}

    # -- problems --------------------------------------------------------------------------

    def add(self, path: tuple, message: str, *, line: int | None = None) -> None:
        if line is None:
            line = self.located_line(path)
        problem = PlanTemplateProblem(self.label, line, _field_name(path), message)
        self.problems.append((line if line is not None else 0, len(self.problems), problem))

    def located_line(self, path: tuple) -> int | None:
        return self.located.line(path) if self.located is not None else None

    def sorted_problems(self) -> list[PlanTemplateProblem]:
        return [p for _, _, p in sorted(self.problems, key=lambda t: (t[0], t[1]))]

    # -- the file --------------------------------------------------------------------------

    def run(self) -> PlanTemplate | None:
        text = self.read()
        if text is None:
            return None
        self.source_lines = text.splitlines()
        try:
            self.located = load_located(text)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark is not None else None
            column = f", kolonne {mark.column + 1}" if mark is not None else ""
            reason = error.problem or error.context or "ugyldig YAML"
            key = reason.split(" (")[0].strip()
            explained = _YAML_PROBLEMS.get(key) or _MORE_YAML_PROBLEMS.get(key)
            detail = f"{explained} ({reason}{column})" if explained else f"{reason}{column}"
            if self.unquoted_jinja(error):
                detail += ("; en tekst, der begynder med {{ eller {%, skal stå i anførselstegn "
                           "eller som blok (|)")
            self.add(("yaml",), f"YAML-syntaksfejl: {detail}", line=line)
            return None
        except yaml.YAMLError as error:
            self.add(("yaml",), f"YAML-syntaksfejl: {error}")
            return None
        for path, line, message in self.located.problems:
            if message == "en nøgle skal være tekst" and self.jinja_on_line(line):
                continue  # ``key: {{ x }}`` read as a mapping; reported where the text is read
            self.add(path, message, line=line)
        return self.check(self.located.value)

    def unquoted_jinja(self, error: yaml.MarkedYAMLError) -> bool:
        """Whether the lines around a YAML error hold a value that starts with ``{{``/``{%``."""
        lines = {m.line + 1 for m in (error.problem_mark, error.context_mark) if m is not None}
        return any(self.jinja_on_line(n) for n in lines | {n - 1 for n in lines})

    def jinja_on_line(self, line: int | None) -> bool:
        """Whether a value on the 1-based ``line`` starts like Jinja, unquoted."""
        return line is not None and 0 < line <= len(self.source_lines) \
            and bool(_UNQUOTED_JINJA.search(self.source_lines[line - 1]))

    def read(self) -> str | None:
        try:
            raw = self.path.read_bytes()
        except OSError as error:
            self.add(("fil",), f"filen kan ikke læses: {error.strerror or error}")
            return None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = raw[:error.start].count(b"\n") + 1
            self.add(("fil",), "filen er ikke gyldig UTF-8", line=line)
            return None

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
                self.add(path + (key,), "skal udfyldes", line=self.located_line(path))
        return value

    def text(self, entry: dict, key: str, path: tuple, *, required: bool = True,
             max_length: int | None = None, pattern: re.Pattern | None = None,
             pattern_message: str = "", jinja: bool = False) -> str | None:
        if key not in entry:
            return None  # a missing required key is reported by mapping()
        value = entry[key]
        where = path + (key,)
        if value is not None and not isinstance(value, str):
            hint = ""
            if self.jinja_on_line(self.located_line(where)):
                hint = ("; en tekst, der begynder med {{ eller {%, skal stå i anførselstegn "
                        "eller som blok (|)")
            self.add(where, "skal være tekst" + hint)
            return None
        if not (value or "").strip():
            if required:
                self.add(where, "skal udfyldes")
            return None if required else ""
        if not jinja:
            value = value.strip()
        if max_length is not None and len(value.strip()) > max_length:
            self.add(where, f"er for lang (højst {max_length} tegn)")
            return None
        if pattern is not None and not pattern.match(value):
            self.add(where, f"{_show(value)} {pattern_message}")
            return None
        if jinja and not self.jinja(value, where):
            return None
        return value

    def jinja(self, source: str, where: tuple) -> bool:
        """Compile a text as a Jinja2 template; report syntax errors and unknown variables."""
        name = _field_name(where)
        key_line = self.located_line(where)
        literal = False
        if key_line is not None and 0 < key_line <= len(self.source_lines):
            literal = bool(_LITERAL_BLOCK.search(self.source_lines[key_line - 1].rstrip()))
        site = (key_line + 1 if literal else key_line, literal) if key_line is not None else None
        if site is not None:
            self.text_lines[name] = site
        try:
            parsed = _ENV.parse(source)
        except TemplateSyntaxError as error:
            self.add(where, f"fejl i skabelonteksten: {error.message}",
                     line=_file_line(site, error.lineno))
            return False
        if self.fact_names is not None:
            unknown = sorted(meta.find_undeclared_variables(parsed) - self.fact_names)
            if unknown:
                listed = ", ".join("{{ " + u + " }}" for u in unknown)
                self.add(where, f"ukendt variabel {listed} (kan bruges: "
                                f"{', '.join(sorted(self.fact_names))})")
                return False
        return True

    def integer(self, entry: dict, key: str, path: tuple, *, minimum: int,
                maximum: int) -> int | None:
        if key not in entry:
            return None
        value = entry[key]
        where = path + (key,)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, "skal være et helt tal")
            return None
        if not minimum <= value <= maximum:
            self.add(where, f"skal være mellem {minimum} og {maximum}")
            return None
        return value

    def hours(self, entry: dict, key: str, path: tuple, *, positive: bool) -> float | None:
        if key not in entry:
            return None
        value = entry[key]
        where = path + (key,)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            self.add(where, "skal være et tal (timer)")
            return None
        if positive and value <= 0:
            self.add(where, "skal være større end 0 timer")
            return None
        if not positive and value < 0:
            self.add(where, "må ikke være negativ")
            return None
        return float(value)

    def items(self, entry: dict, key: str, path: tuple) -> list[tuple[tuple, Any]] | None:
        if key not in entry:
            return None
        value = entry[key]
        if not isinstance(value, list):
            self.add(path + (key,), "skal være en liste")
            return None
        return [(path + (key, i), item) for i, item in enumerate(value)]

    # -- the document ----------------------------------------------------------------------

    def check(self, root: Any) -> PlanTemplate | None:
        if not isinstance(root, dict):
            if root is None:
                self.add((), "filen er tom")
            else:
                self.add((), "filen skal være en YAML-mapping med felterne " + ", ".join(TOP_KEYS))
            return None
        before = len(self.problems)
        self.mapping(root, (), TOP_KEYS)
        code = self.text(root, "code", (), max_length=CODE_MAX, pattern=SLUG,
                         pattern_message="er ikke en gyldig skabelonkode "
                                         "(små bogstaver a-z, tal og bindestreg)")
        name = self.text(root, "name", (), max_length=LINE_MAX)
        kind = self.text(root, "plan_kind", ())
        if kind is not None and kind not in PLAN_KINDS:
            self.add(("plan_kind",), f"ukendt plantype {_show(kind)} "
                                     f"(tilladt: {', '.join(PLAN_KINDS)})")
            kind = None
        incident_types = self.incident_types(root, kind)
        days = self.integer(root, "default_period_days", (), minimum=1, maximum=PERIOD_MAX_DAYS)
        lead = self.drafting_lead(root, kind)
        purpose = self.text(root, "purpose", (), jinja=True)
        background = self.text(root, "background", (), jinja=True)
        measures = self.measures(root, days)
        communication = self.communication(root, days)
        evaluation_days = self.integer(root, "evaluation_offset_days", (), minimum=0,
                                       maximum=PERIOD_MAX_DAYS)
        if evaluation_days is not None and days is not None and evaluation_days > days:
            self.add(("evaluation_offset_days",),
                     f"evalueringen ({evaluation_days} dage) ligger efter planperioden "
                     f"({days} dage)")
        evaluation = self.text(root, "evaluation", (), jinja=True)
        if len(self.problems) != before:
            return None
        return PlanTemplate(
            code=code, name=name, plan_kind=kind, incident_types=incident_types,
            default_period_days=days, purpose=purpose, background=background,
            measures=tuple(measures), communication=tuple(communication),
            evaluation_offset_days=evaluation_days, evaluation=evaluation,
            drafting_lead_days=lead, source=self.path,
            text_lines=MappingProxyType(dict(self.text_lines)))

    def incident_types(self, root: dict, kind: str | None) -> tuple[str, ...]:
        where = ("incident_types",)
        value = root.get("incident_types")
        if value is None:
            if kind == "handleplan":
                self.add(where, "en handleplan skal nævne mindst én hændelsestype "
                                f"(tilladt: {', '.join(INCIDENT_TYPES)})")
            return ()
        if not isinstance(value, list):
            self.add(where, "skal være en liste")
            return ()
        found: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.add(where + (i,), "skal være tekst")
                continue
            item = item.strip()
            if kind == "handleplan" and item not in INCIDENT_TYPES:
                self.add(where + (i,), f"ukendt hændelsestype {_show(item)} "
                                       f"(tilladt: {', '.join(INCIDENT_TYPES)})")
            elif not SLUG.match(item):
                self.add(where + (i,), f"{_show(item)} er ikke en gyldig hændelsestype "
                                       "(små bogstaver a-z, tal og bindestreg)")
            elif item in found:
                self.add(where + (i,), f"hændelsestypen {_show(item)} står flere gange")
            else:
                found.append(item)
        if kind == "handleplan" and not value:
            self.add(where, "en handleplan skal nævne mindst én hændelsestype")
        return tuple(found)

    def drafting_lead(self, root: dict, kind: str | None) -> int | None:
        where = ("drafting_lead_days",)
        if root.get("drafting_lead_days") is None:
            if kind == "beredskabsplan":
                self.add(where, "en beredskabsplan skal angive, hvor mange dage før begivenheden "
                                "sekretariatet begynder at udarbejde den",
                         line=self.located_line(where) if "drafting_lead_days" in root else None)
            return None
        if kind == "handleplan":
            self.add(where, "bruges kun for beredskabsplaner (en akut handleplan udarbejdes, "
                            "når hændelsen er sket)")
            return None
        return self.integer(root, "drafting_lead_days", (), minimum=1, maximum=PERIOD_MAX_DAYS)

    def measures(self, root: dict, days: int | None) -> list[MeasureTemplate]:
        items = self.items(root, "measures", ())
        if items is None:
            return []
        if not items:
            self.add(("measures",), "skabelonen skal foreslå mindst én indsats")
        out: list[MeasureTemplate] = []
        keys: dict[str, tuple] = {}
        for path, raw in items:
            entry = self.mapping(raw, path, MEASURE_KEYS)
            if entry is None:
                continue
            before = len(self.problems)
            key = self.text(entry, "key", path, max_length=KEY_MAX, pattern=SLUG,
                            pattern_message="er ikke en gyldig nøgle "
                                            "(små bogstaver a-z, tal og bindestreg)")
            if key is not None:
                if key in keys:
                    first = keys[key]
                    line = self.located_line(first)
                    self.add(path + ("key",), f"nøglen {_show(key)} bruges allerede i "
                                              f"{_field_name(first[:-1])}"
                                              + (f" (linje {line})" if line else ""))
                else:
                    keys[key] = path + ("key",)
            title = self.text(entry, "title", path, max_length=LINE_MAX, jinja=True)
            measure_type = self.text(entry, "measure_type", path)
            if measure_type is not None and measure_type not in MEASURE_TYPES:
                self.add(path + ("measure_type",),
                         f"ukendt indsatstype {_show(measure_type)} "
                         f"(tilladt: {', '.join(MEASURE_TYPES)})")
                measure_type = None
            authority = self.text(entry, "authority", path, required=False)
            if authority and authority not in AUTHORITIES:
                self.add(path + ("authority",), f"ukendt myndighed {_show(authority)} "
                                                f"(tilladt: {', '.join(AUTHORITIES)})")
                authority = None
            elif not authority and measure_type is not None:
                authority = USUAL_OWNER[measure_type]
            start = self.hours(entry, "start_offset_hours", path, positive=False)
            duration = self.hours(entry, "duration_hours", path, positive=True)
            if days is not None and start is not None and duration is not None:
                limit = days * 24
                if start >= limit:
                    self.add(path + ("start_offset_hours",),
                             f"indsatsen starter {_hours(start)} timer efter planens start, "
                             f"efter planperioden på {days} dage ({limit} timer)")
                elif start + duration > limit:
                    self.add(path + ("duration_hours",),
                             f"indsatsen slutter {_hours(start + duration)} timer efter planens "
                             f"start, efter planperioden på {days} dage ({limit} timer)")
            description = self.text(entry, "description", path, required=False, jinja=True)
            if len(self.problems) == before and None not in (
                    key, title, measure_type, authority, start, duration):
                out.append(MeasureTemplate(key=key, title=title, measure_type=measure_type,
                                           authority=authority, start_offset_hours=start,
                                           duration_hours=duration,
                                           description=description or ""))
        return out

    def communication(self, root: dict, days: int | None) -> list[CommunicationTemplate]:
        items = self.items(root, "communication", ())
        if items is None:
            return []
        if not items:
            self.add(("communication",), "skabelonen skal have en kommunikationsplan "
                                         "(mindst én modtager)")
        out: list[CommunicationTemplate] = []
        for path, raw in items:
            entry = self.mapping(raw, path, COMMUNICATION_KEYS)
            if entry is None:
                continue
            before = len(self.problems)
            audience = self.text(entry, "audience", path, max_length=LINE_MAX, jinja=True)
            what = self.text(entry, "what", path, jinja=True)
            when = self.hours(entry, "when_offset_hours", path, positive=False)
            if when is not None and days is not None and when > days * 24:
                self.add(path + ("when_offset_hours",),
                         f"{_hours(when)} timer ligger efter planperioden på {days} dage "
                         f"({days * 24} timer)")
            confidentiality = self.text(entry, "confidentiality", path)
            if confidentiality is not None and confidentiality not in CONFIDENTIALITY:
                self.add(path + ("confidentiality",),
                         f"ukendt fortrolighed {_show(confidentiality)} "
                         f"(tilladt: {', '.join(CONFIDENTIALITY)})")
            if len(self.problems) == before and None not in (audience, what, when,
                                                              confidentiality):
                out.append(CommunicationTemplate(audience=audience, what=what,
                                                 when_offset_hours=when,
                                                 confidentiality=confidentiality))
        return out


# -- rendering ---------------------------------------------------------------------------------

def render_plan_template(template: PlanTemplate, facts: Mapping[str, Any]) -> RenderedPlan:
    """Fill the template's texts with ``facts`` (see ``FACT_NAMES``).

    Every text is rendered before anything is returned; any problem (an unknown variable, a
    runtime error, a syntax error in a hand-made template) raises ``PlanTemplateError`` naming
    the file, the line and the field, with all problems found.
    """
    label = template_label(template.source)
    context = dict(facts)
    problems: list[PlanTemplateProblem] = []

    def render(name: str, source: str, *, max_length: int | None = None) -> str:
        site = template.text_lines.get(name)
        try:
            compiled = _compile(source)
        except TemplateSyntaxError as error:
            problems.append(PlanTemplateProblem(label, _file_line(site, error.lineno), name,
                                                f"fejl i skabelonteksten: {error.message}"))
            return ""
        try:
            text = flow(compiled.render(context))
        except UndefinedError as error:
            known = ", ".join(sorted(context)) or "ingen"
            problems.append(PlanTemplateProblem(
                label, _file_line(site, _template_line(error)), name,
                f"ukendt værdi i skabelonteksten: {error.message} (kendte værdier: {known})"))
            return ""
        except Exception as error:  # noqa: BLE001 - any runtime error of a text is reported
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            problems.append(PlanTemplateProblem(
                label, _file_line(site, _template_line(error)), name,
                f"skabelonteksten kan ikke udfyldes: {message}"))
            return ""
        if max_length is not None:  # a one-line text
            text = " ".join(text.split())
        if max_length is not None and len(text) > max_length:
            problems.append(PlanTemplateProblem(
                label, _file_line(site, None), name,
                f"teksten er for lang efter udfyldning ({len(text)} tegn; højst {max_length})"))
        return text

    purpose = render("purpose", template.purpose)
    background = render("background", template.background)
    measures = []
    for i, m in enumerate(template.measures):
        title = render(f"measures[{i}].title", m.title, max_length=LINE_MAX)
        description = render(f"measures[{i}].description", m.description)
        measures.append(RenderedMeasure(
            key=m.key, title=title, measure_type=m.measure_type, authority=m.authority,
            start_offset_hours=m.start_offset_hours, duration_hours=m.duration_hours,
            description=description))
    communication = []
    for i, c in enumerate(template.communication):
        audience = render(f"communication[{i}].audience", c.audience, max_length=LINE_MAX)
        what = render(f"communication[{i}].what", c.what)
        communication.append(RenderedCommunication(
            audience=audience, what=what, when_offset_hours=c.when_offset_hours,
            confidentiality=c.confidentiality))
    evaluation = render("evaluation", template.evaluation)
    if problems:
        raise PlanTemplateError(sorted(problems, key=lambda p: p.line or 0))
    return RenderedPlan(
        template_code=template.code, plan_kind=template.plan_kind, purpose=purpose,
        background=background, evaluation=evaluation,
        default_period_days=template.default_period_days,
        evaluation_offset_days=template.evaluation_offset_days,
        measures=tuple(measures), communication=tuple(communication), name=template.name)
