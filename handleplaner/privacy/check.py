"""The one personal-data check for everything that is shared (retsplejelovens § 115).

Titles, alert texts, the description when the sender includes it, the plan version for Team
Sikker By (which is also the version for the political level), meeting invitations to external
parties and exports are all checked here, on the text as it will leave.

The text is normalised first (``normalise``): Unicode NFKC, format characters (category Cf:
zero-width space, soft hyphen, word joiner ...) removed, tags out and entities decoded. Every
dash, slash, dot, underscore and space (also a no-break or thin space) then counts as a
separator. Found are:

* CPR numbers (``CPR``) in every shape with a valid date: 010203-1234, 0102031234,
  01-02-03-1234, 01/02/03-1234, 010203/1234, 010203.1234, 010203_1234, 0102 031234, glued to
  other text (cpr:0102031234). The modulus-11 check is not used (numbers since 2007 may fail it).
  Phone numbers, dates with a four-digit year, times and reference numbers do not match.
* the people registered on the incident (``REGISTRERET``), their names and nicknames in any case
  and with genitive -s or -'s;
* the directory's people (``DIREKTORIET``), their full names likewise;
* likely names of people not registered (``MULIGT_NAVN``): a Capitalised word from the shipped
  list of common Danish first names and surnames (``data/navne.txt``).

The first three stop the sharing (``PersonalDataFound``, naming the place and an excerpt with
the match masked); a likely name only warns (``LikelyNames``) and may be overridden with a
reason, which the caller records in the incident's record (the reason, never the name).
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

CPR = "cpr"
REGISTRERET = "navn"
DIREKTORIET = "direktoriet"
MULIGT_NAVN = "muligt_navn"
NAVN = REGISTRERET  # the names the caller gives: registered people, the plan's own staff
STOPPING = (CPR, REGISTRERET, DIREKTORIET)
KIND_LABELS = {CPR: "CPR-nummer", REGISTRERET: "Navn på en involveret person",
               DIREKTORIET: "Navn på en person fra organisationen",
               MULIGT_NAVN: "Muligt navn"}

EXCERPT_CONTEXT = 12
MASK = "•"

# Separators (after NFKC): any space, every dash (hyphen-minus, ‐ ‑ ‒ – — ―, minus ⁃ ﹘),
# slash, dot and underscore.
_SEP_CHARS = r"\s\-\u2010-\u2015\u2212\u2043\ufe58/._"
_SEP = f"[{_SEP_CHARS}]"
# Six date digits, then four serial digits; between any two groups a short run of separators.
# Not inside a longer number or a dotted date, and not right after a phone prefix (+45).
_CPR = re.compile(
    r"(?<![\d+])(?<!\+45 )(?<!\d[.:/])"
    rf"(?P<day>\d{{2}}){_SEP}{{0,3}}(?P<month>\d{{2}}){_SEP}{{0,3}}(?P<year>\d{{2}})"
    rf"{_SEP}{{0,3}}(?P<serial>\d{{4}})(?!\d)(?![.:/,_\-\u2010-\u2015\u2212]?\d)"
)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_DROP_ELEMENTS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Inline elements join their text to what is around it; every other tag separates words.
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|dfn|em|i|kbd|mark|q|s|samp|small|span|strong|sub|"
    r"sup|time|u|var|wbr)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>")
_GENITIVE = r"(?:s|'s|’s|'|’)?"
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\n•*]\s*|\s-\s)$")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: what kind, where (``place``), an excerpt with the match
    masked, and where it starts in the normalised text."""

    kind: str
    excerpt: str
    position: int
    place: str = ""

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def stops(self) -> bool:
        return self.kind in STOPPING

    def __str__(self) -> str:
        where = f"{self.place}: " if self.place else ""
        return f"{where}{self.label} fundet: '{self.excerpt}'"


class PersonalDataFound(Exception):
    """What is to be shared holds CPR numbers or registered or directory people: it may not be
    shared. ``findings`` says what and where."""

    def __init__(self, findings: Iterable[Finding], what: str = "Teksten"):
        self.findings = list(findings)
        lines = "; ".join(str(finding) for finding in self.findings)
        super().__init__(f"{what} indeholder personoplysninger og kan ikke deles. {lines}")


class LikelyNames(Exception):
    """What is to be shared holds likely names of people; it may be shared only when the sender
    gives a reason, which is recorded."""

    def __init__(self, findings: Iterable[Finding]):
        self.findings = list(findings)
        lines = "; ".join(str(finding) for finding in self.findings)
        super().__init__("Teksten ser ud til at indeholde navne på personer. Fjern dem, eller "
                         f"skriv en begrundelse for at dele alligevel. {lines}")


def warning_text(findings: Iterable[Finding]) -> str:
    """The Danish error for a form field with likely names."""
    places = "; ".join(f"'{f.excerpt}'" for f in findings)
    return ("ser ud til at indeholde navne på personer (" + places + "); fjern dem, eller skriv "
            "en begrundelse for at dele alligevel")


def stop_text(findings: Iterable[Finding]) -> str:
    """The Danish error for a form field holding personal data that stops the sharing."""
    return ("indeholder personoplysninger og kan ikke deles: "
            + "; ".join(f"{_in_sentence(f.label)} ('{f.excerpt}')" for f in findings))


def _in_sentence(label: str) -> str:
    """A label inside a sentence: 'navn på …' but 'CPR-nummer' (an abbreviation keeps its
    capitals)."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


# --- normalising -------------------------------------------------------------------------------

def html_to_text(text: str) -> str:
    """Visible text of HTML (or plain text, which passes through): tags out, entities decoded.

    Inline tags (<b>, <span>, …) vanish so a word split by them stays one word; other tags
    become a space so 'Navn<br>Navnesen' reads 'Navn Navnesen'.
    """
    text = _DROP_ELEMENTS.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    text = _INLINE_TAG.sub("", text)
    text = _TAG.sub(" ", text)
    return html.unescape(text)


def normalise(text: str) -> str:
    """NFKC, and every format character (Cf) removed: what the check reads."""
    text = unicodedata.normalize("NFKC", html_to_text(text or ""))
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def _valid_date(day: int, month: int, year: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2 and year % 4 != 0:  # year 00 may be 2000, a leap year
        return day <= 28
    return day <= _DAYS_IN_MONTH[month - 1]


def _excerpt(text: str, start: int, end: int) -> str:
    """The text around [start, end) with the match masked: letters and digits become •."""
    left = max(0, start - EXCERPT_CONTEXT)
    right = min(len(text), end + EXCERPT_CONTEXT)
    masked = "".join(MASK if c.isalnum() else c for c in text[start:end])
    body = " ".join((text[left:start] + masked + text[end:right]).split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


# --- names -------------------------------------------------------------------------------------

def _name_alternatives(name: str) -> list[str]:
    parts = unicodedata.normalize("NFKC", name).split()
    if not parts:
        return []

    def part(word: str) -> str:
        # A hyphenated name may be broken over a line: "Anne-\nMarie".
        return rf"\s*[-\u2010-\u2015]\s*".join(re.escape(piece) for piece in word.split("-"))

    between = f"{_SEP}+"
    alternatives = [between.join(part(word) for word in parts)]
    if len(parts) > 1:  # "Navnesen, Navn" as in a list sorted by surname
        alternatives.append(part(parts[-1]) + r"\s*,\s*" + between.join(part(w) for w in parts[:-1]))
    return alternatives


@lru_cache(maxsize=64)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern | None:
    """One pattern for every name: on word boundaries, in any case, genitive -s allowed. Longer
    names first, so "Mads Hansen" wins over "Mads"."""
    alternatives = [a for name in sorted(names, key=len, reverse=True)
                    for a in _name_alternatives(name)]
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + rf"){_GENITIVE}(?!\w)",
                      re.IGNORECASE)


def _clean_names(names: Iterable[str] | None, *, min_words: int = 1) -> tuple[str, ...]:
    cleaned = (" ".join(str(n).split()) for n in names or () if n and str(n).strip())
    return tuple(dict.fromkeys(n for n in cleaned if len(n.split()) >= min_words
                               and len(n.replace(" ", "")) >= 2))


@dataclass(frozen=True)
class NameList:
    first: frozenset[str]
    last: frozenset[str]
    ambiguous: frozenset[str]

    def known(self, word: str) -> bool:
        return word in self.first or word in self.last or word in self.ambiguous


@lru_cache(maxsize=1)
def common_names() -> NameList:
    """The shipped list of common Danish first names and surnames (data/navne.txt)."""
    sections: dict[str, set[str]] = {"fornavne": set(), "efternavne": set(),
                                     "også almindelige ord": set()}
    current = None
    text = resources.files("handleplaner.privacy").joinpath("data/navne.txt").read_text("utf-8")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections[line[1:-1]]
            continue
        current.update(word.lower() for word in line.split())
    ambiguous = frozenset(sections["også almindelige ord"])
    return NameList(first=frozenset(sections["fornavne"]) - ambiguous,
                    last=frozenset(sections["efternavne"]) - ambiguous, ambiguous=ambiguous)


def _base(word: str) -> str:
    """The word without a genitive ending, lower case."""
    lower = word.lower()
    for ending in ("'s", "’s", "'", "’"):
        if lower.endswith(ending):
            return lower[: -len(ending)]
    return lower


def _candidates(word: str, names: NameList) -> str | None:
    """The listed name the word is (itself or its genitive), or None."""
    base = _base(word)
    if names.known(base):
        return base
    if base.endswith("s") and names.known(base[:-1]):
        return base[:-1]
    return None


def _likely_names(text: str, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of likely names: Capitalised (not all-capital) listed words. A word that is also
    a common Danish word counts only beside another name, or mid-sentence; as the first word of
    a sentence it is skipped."""
    names = common_names()
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    hits: dict[int, bool] = {}
    for index, (start, _end, word) in enumerate(words):
        if len(word) < 2 or not word[0].isupper() or word.isupper():
            continue
        name = _candidates(word, names)
        if name is None:
            continue
        first_of_sentence = bool(_SENTENCE_END.search(text[:start]))
        hits[index] = name not in names.ambiguous or not first_of_sentence
    spans = []
    for index, strong in hits.items():
        beside = hits.get(index - 1) is not None or hits.get(index + 1) is not None
        if strong or beside:
            start, end = words[index][0], words[index][1]
            if not any(s <= start < e for s, e in taken):
                spans.append((start, end))
    return spans


# --- the check ---------------------------------------------------------------------------------

def find_personal_data(text: str, *, confidential_names: Iterable[str] = (),
                       directory_names: Iterable[str] = (), likely: bool = False,
                       place: str = "") -> list[Finding]:
    """CPR numbers, the registered people's names (``confidential_names``), the directory's
    people (full names) and, with ``likely``, likely names, in ``text`` (plain text or HTML), in
    order of position. Positions are offsets into the normalised text."""
    clean = normalise(text)
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for match in _CPR.finditer(clean):
        if _valid_date(int(match["day"]), int(match["month"]), int(match["year"])):
            findings.append(Finding(CPR, _excerpt(clean, match.start(), match.end()),
                                    match.start(), place))
            taken.append(match.span())
    for kind, names in ((REGISTRERET, _clean_names(confidential_names)),
                        (DIREKTORIET, _clean_names(directory_names, min_words=2))):
        pattern = _names_pattern(names)
        for match in pattern.finditer(clean) if pattern else ():
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            findings.append(Finding(kind, _excerpt(clean, match.start(), match.end()),
                                    match.start(), place))
            taken.append(match.span())
    if likely:
        for start, end in _likely_names(clean, taken):
            findings.append(Finding(MULIGT_NAVN, _excerpt(clean, start, end), start, place))
    return sorted(findings, key=lambda finding: (finding.position, finding.kind))


@dataclass
class Check:
    """The names to look for in one incident's shared texts, and what was found."""

    registered: tuple[str, ...] = ()
    directory: tuple[str, ...] = ()
    findings: list[Finding] = field(default_factory=list)

    def text(self, place: str, text: str | None) -> list[Finding]:
        """Check one text; its findings are added and returned."""
        found = find_personal_data(text or "", confidential_names=self.registered,
                                   directory_names=self.directory, likely=True, place=place)
        self.findings.extend(found)
        return found

    @property
    def stops(self) -> list[Finding]:
        return [f for f in self.findings if f.stops]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.stops]

    def require(self, *, reason: str = "", what: str = "Teksten") -> list[Finding]:
        """Raise ``PersonalDataFound`` for anything that stops, ``LikelyNames`` for likely names
        without a reason; return the warnings that the reason overrides (to be recorded)."""
        if self.stops:
            raise PersonalDataFound(self.stops, what)
        if self.warnings and not (reason or "").strip():
            raise LikelyNames(self.warnings)
        return self.warnings


def has_cpr(text: str) -> bool:
    """Whether ``text`` holds a CPR number."""
    return any(f.kind == CPR for f in find_personal_data(text))


def redact_personal_data(text: str, *, confidential_names: Iterable[str] = (),
                         replacement: str = "[fjernet]") -> tuple[str, dict[str, int]]:
    """``text`` (plain text) with its CPR numbers and the given names replaced, by the same rules
    the check finds them; returns the new text and how many of each kind (``{"cpr": 1,
    "registreret": 2}``), never the removed values. Used for the aktindsigt copy."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    spans: list[tuple[int, int, str]] = []
    for match in _CPR.finditer(text):
        if _valid_date(int(match["day"]), int(match["month"]), int(match["year"])):
            spans.append((match.start(), match.end(), CPR))
    pattern = _names_pattern(_clean_names(confidential_names))
    if pattern is not None:
        spans.extend((m.start(), m.end(), NAVN) for m in pattern.finditer(text))
    counts: dict[str, int] = {}
    out, position = [], 0
    for start, end, kind in sorted(spans, key=lambda span: (span[0], -span[1])):
        if start < position:  # overlaps one already replaced: replace the union
            position = max(position, end)
            continue
        out.append(text[position:start])
        out.append(replacement)
        position = end
        counts[kind] = counts.get(kind, 0) + 1
    out.append(text[position:])
    return "".join(out), counts
