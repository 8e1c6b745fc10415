"""Personal data that must not reach Team Sikker By: CPR numbers and names of people.

§115 of the Administration of Justice Act lets the SSP authorities share personal data among
themselves when it is needed for crime prevention, not with more people than that (domain.md,
"Law as product duties"). The version of a plan for Team Sikker By is therefore filtered
(``documents.sikkerby_version``) and then checked here, on the very text it renders to, before it
may be shared: a CPR number or a confidential person's name written into free text (a measure's
title, the purpose, an extension's reason) survives the filter and is caught by the guard.

CPR numbers are found in the forms DDMMYY-XXXX, DDMMYYXXXX and DDMMYY XXXX, with dots or spaces
inside the date (01.02.03-1234, 01 02 03 1234), also glued to other text (cpr:0102031234). The
date must be a real day; the modulus-11 check is not used, since numbers issued since 2007 may
fail it. Phone numbers, dates with a four-digit year, times and reference numbers do not match.
"""
from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

CPR = "cpr"
NAVN = "navn"
KIND_LABELS = {CPR: "CPR-nummer", NAVN: "Navn"}

EXCERPT_CONTEXT = 12

# Six date digits (day, month, year) with the same separator (none, one dot or one space)
# between the pairs, then the four serial digits after a hyphen, one space or nothing.
# Not inside a longer number or a dotted date, and not right after a phone prefix (+45).
_CPR = re.compile(
    r"(?<![\d+])(?<!\+45 )(?<!\d[.:/])"
    r"(?P<day>\d{2})(?P<sep>[. ]?)(?P<month>\d{2})(?P=sep)(?P<year>\d{2})"
    r"(?:[ ]?[-\u2010\u2011\u2013][ ]?|[ ]|)"
    r"(?P<serial>\d{4})(?!\d)(?![.:/,-]?\d)"
)

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_DROP_ELEMENTS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Inline elements join their text to what is around it; every other tag separates words.
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|cite|code|data|dfn|em|i|kbd|mark|q|s|samp|small|span|strong|sub|"
    r"sup|time|u|var|wbr)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>")


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: what kind, the text around it, and where it starts."""

    kind: str  # "cpr" or "navn"
    excerpt: str
    position: int

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def __str__(self) -> str:
        return f"{self.label} fundet: '{self.excerpt}'"


class PersonalDataFound(Exception):
    """The Team Sikker By version still holds personal data; ``findings`` says what and where."""

    def __init__(self, findings: Iterable[Finding]):
        self.findings = list(findings)
        lines = "; ".join(str(finding) for finding in self.findings)
        super().__init__("Versionen til Team Sikker By indeholder personoplysninger og kan ikke "
                         f"deles. {lines}")


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


def _valid_date(day: int, month: int, year: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2 and year % 4 != 0:  # year 00 may be 2000, a leap year
        return day <= 28
    return day <= _DAYS_IN_MONTH[month - 1]


def _excerpt(text: str, start: int, end: int) -> str:
    left = max(0, start - EXCERPT_CONTEXT)
    right = min(len(text), end + EXCERPT_CONTEXT)
    body = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


def _name_pattern(name: str) -> re.Pattern | None:
    parts = unicodedata.normalize("NFC", name).split()
    if not parts:
        return None

    def part(word: str) -> str:
        # A hyphenated name may be broken over a line: "Anne-\nMarie".
        return r"\s*[-\u2010\u2011\u2013]\s*".join(re.escape(piece) for piece in word.split("-"))

    forward = r"\s+".join(part(word) for word in parts)
    alternatives = [forward]
    if len(parts) > 1:  # "Navnesen, Navn" as in a list sorted by surname
        alternatives.append(part(parts[-1]) + r"\s*,\s*" + r"\s+".join(part(w) for w in parts[:-1]))
    # On word boundaries; a genitive s ("Navnesens") is still the name.
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?:s|'s|’s|'|’)?(?!\w)",
                      re.IGNORECASE)


def has_cpr(text: str) -> bool:
    """Whether ``text`` holds a CPR number (refused in titles and alert texts, which go out)."""
    return any(f.kind == CPR for f in find_personal_data(text))


def find_personal_data(text: str, *, confidential_names: Iterable[str] = ()) -> list[Finding]:
    """CPR numbers and the given names in ``text`` (plain text or HTML), in order of position.

    Positions are offsets into the visible text (tags removed, entities decoded, NFC).
    """
    text = unicodedata.normalize("NFC", html_to_text(text or ""))
    findings: list[Finding] = []
    for match in _CPR.finditer(text):
        if _valid_date(int(match["day"]), int(match["month"]), int(match["year"])):
            findings.append(Finding(CPR, _excerpt(text, match.start(), match.end()),
                                    match.start()))
    seen: set[tuple[int, int]] = set()
    for name in dict.fromkeys(n.strip() for n in confidential_names if n and n.strip()):
        pattern = _name_pattern(name)
        if pattern is None:
            continue
        for match in pattern.finditer(text):
            if (match.start(), match.end()) in seen:
                continue
            seen.add((match.start(), match.end()))
            findings.append(Finding(NAVN, _excerpt(text, match.start(), match.end()),
                                    match.start()))
    return sorted(findings, key=lambda finding: (finding.position, finding.kind))


def people_in(snapshot: dict) -> list[str]:
    """Names that must not be in the Team Sikker By version: those marked confidential, and the
    people the full version names (responsible persons, deciders, who extended and froze it).

    The latter only with at least two words, so that a name cannot be mistaken for an ordinary
    word of the text ("Sekretariatet")."""
    names = [str(n) for n in snapshot.get("confidential_people") or [] if n]
    named = [(m.get("responsible") or {}).get("name") for m in snapshot.get("measures") or []]
    named += [d.get("person") for d in (snapshot.get("approval") or {}).get("decisions") or []]
    named += [e.get("by") for e in (snapshot.get("period") or {}).get("extended") or []]
    named.append(snapshot.get("frozen_by"))
    authorities = {str(m.get("authority_name", "")).strip().lower()
                   for m in snapshot.get("measures") or []}
    for name in named:
        if name and len(str(name).split()) >= 2 and str(name).strip().lower() not in authorities:
            names.append(str(name))
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def guard_sikkerby(snapshot: dict) -> list[Finding]:
    """Render the Team Sikker By version of ``snapshot`` and look for personal data in it."""
    from handleplaner.plans.documents import SIKKERBY, render_plan_html

    rendered = render_plan_html(snapshot, variant=SIKKERBY)
    return find_personal_data(html_to_text(rendered), confidential_names=people_in(snapshot))


def assert_shareable(snapshot: dict) -> None:
    """Raise ``PersonalDataFound`` unless the Team Sikker By version is free of personal data."""
    findings = guard_sikkerby(snapshot)
    if findings:
        raise PersonalDataFound(findings)


def redact_personal_data(text: str, *, confidential_names: Iterable[str] = (),
                         replacement: str = "[fjernet]") -> tuple[str, dict[str, int]]:
    """``text`` (plain text) with its CPR numbers and the given names replaced, by the same rules
    ``find_personal_data`` finds them; returns the new text and how many of each kind
    (``{"cpr": 1, "navn": 2}``), never the removed values. Used for the aktindsigt copy."""
    text = unicodedata.normalize("NFC", text or "")
    spans: list[tuple[int, int, str]] = []
    for match in _CPR.finditer(text):
        if _valid_date(int(match["day"]), int(match["month"]), int(match["year"])):
            spans.append((match.start(), match.end(), CPR))
    for name in dict.fromkeys(n.strip() for n in confidential_names if n and n.strip()):
        pattern = _name_pattern(name)
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
