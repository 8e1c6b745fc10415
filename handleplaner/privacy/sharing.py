"""Where the personal-data check (``check``) is applied: whom to look for on one incident, the
Team Sikker By version of a plan (also the version for the political level), and the record of
a warning overridden with a reason.

The names looked for are the people registered on the incident (``involved.names_of``), the
directory's people, and, for a plan, the people its full version names (``people_in``).
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from .. import record
from ..clock import utcnow
from ..directory.models import Person
from ..involved import names_of
from .check import (Check, Finding, LikelyNames, PersonalDataFound, html_to_text, stop_text,
                    warning_text)

OVERRIDDEN = "personoplysninger.advarsel_tilsidesat"
REASON_MAX = 500


def directory_names(session: Session) -> tuple[str, ...]:
    """The full names of the directory's people (inactive ones too: they were staff)."""
    return tuple(sorted({n for n in session.exec(select(Person.name)) if n and len(n.split()) > 1}))


def check_for(session: Session, incident_id: int | None, *,
              extra_names: tuple[str, ...] = ()) -> Check:
    """An empty check that knows the incident's registered people and the directory's."""
    registered = tuple(names_of(session, incident_id)) + tuple(extra_names)
    return Check(registered=registered, directory=directory_names(session))


def check_texts(session: Session, incident_id: int | None,
                texts: list[tuple[str, str | None]]) -> Check:
    """Check each (place, text) for the incident; the caller decides what to do with it."""
    found = check_for(session, incident_id)
    for place, text in texts:
        found.text(place, text)
    return found


def field_errors(found: Check, fields: dict[str, str], *, reason: str = "",
                 reason_field: str = "names_reason") -> dict[str, str]:
    """Danish form errors per field (``fields`` maps a place to its field) for what was found:
    stopping findings always, likely names unless a reason is given."""
    errors: dict[str, str] = {}
    for place, name in fields.items():
        stops = [f for f in found.stops if f.place == place]
        warnings = [f for f in found.warnings if f.place == place]
        if stops:
            errors[name] = stop_text(stops)
        elif warnings and not (reason or "").strip():
            errors[name] = warning_text(warnings)
    if found.warnings and not found.stops and not (reason or "").strip() and errors:
        errors.setdefault(reason_field, "skriv en begrundelse for at dele teksten med de mulige "
                                        "navne, eller ret teksten")
    reason_text = (reason or "").strip()
    if len(reason_text) > REASON_MAX:
        errors[reason_field] = f"er for lang (højst {REASON_MAX} tegn)"
    elif reason_text and any(f.stops for f in Check(registered=found.registered,
                                                     directory=found.directory)
                             .text("begrundelse", reason_text)):
        errors[reason_field] = "begrundelsen må ikke selv indeholde personoplysninger"
    return errors


def record_override(session: Session, *, incident_id: int, actor_id: str, reason: str,
                    findings: list[Finding], what: str, now: datetime | None = None) -> None:
    """Write the overridden warning to the record: where, how many and the reason - never the
    names. Nothing is written when there was nothing to override."""
    if not findings:
        return
    places = sorted({f.place for f in findings if f.place})
    record.append(session, incident_id=incident_id, actor_id=actor_id, action=OVERRIDDEN,
                  at=now or utcnow(),
                  summary=f"Advarsel om mulige navne tilsidesat ({what}): {{begrundelse}}",
                  data={"what": what, "places": places, "count": len(findings)},
                  detail={"begrundelse": " ".join(reason.split())[:REASON_MAX]})


# --- the Team Sikker By version ---------------------------------------------------------------

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


_PLACES = {"title": "planens titel", "purpose": "formål", "background": "baggrund",
           "description": "beskrivelse", "what": "hvad", "reason": "begrundelse",
           "text": "tekst", "audience": "modtagere"}
_SECTIONS = {"measures": "indsats", "communication": "kommunikation", "extended": "forlængelse",
             "incident": "hændelsen", "evaluation": "evaluering", "period": "perioden"}
# Codes, times and labels made by the service, not written by people.
_NOT_FREE_TEXT = {"plan_id", "version", "kind", "kind_label", "template", "frozen_at", "variant",
                  "frozen_by", "reference", "type", "type_label", "severity", "severity_label",
                  "areas", "whole_city", "occurred_at", "exercise", "confidential", "key",
                  "measure_type", "measure_label", "authority", "authority_name", "starts_at",
                  "ends_at", "status", "status_label", "start", "end", "new_end", "at", "when",
                  "confidentiality", "state", "state_label", "rule", "rule_label"}


def _free_texts(node, trail: tuple[str, ...] = ()):
    """(place, text) for every free text in the Team Sikker By copy, with a Danish place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in _NOT_FREE_TEXT:
                yield from _free_texts(value, trail + (key,))
    elif isinstance(node, list):
        for index, item in enumerate(node, start=1):
            yield from _free_texts(item, trail + (str(index),))
    elif isinstance(node, str) and node.strip():
        words = []
        for step in trail:
            if step.isdigit():
                words[-1] = f"{words[-1]} {step}" if words else step
            else:
                words.append(_SECTIONS.get(step) or _PLACES.get(step, step))
        yield ", ".join(words), node


def plan_incident(session: Session, snapshot: dict) -> int | None:
    from ..plans.models import Plan

    plan = session.get(Plan, snapshot.get("plan_id")) if snapshot.get("plan_id") else None
    return plan.incident_id if plan is not None else None


def check_sikkerby(session: Session | None, snapshot: dict) -> Check:
    """The Team Sikker By version of ``snapshot``, field by field (each finding names its
    place), then the whole document as it renders, for anything outside those fields."""
    from ..plans.documents import SIKKERBY, render_plan_html, sikkerby_version

    incident_id = plan_incident(session, snapshot) if session is not None else None
    found = (check_for(session, incident_id, extra_names=tuple(people_in(snapshot)))
             if session is not None else Check(registered=tuple(people_in(snapshot))))
    for place, text in _free_texts(sikkerby_version(snapshot)):
        found.text(place, text)
    if not found.findings:
        found.text("dokumentet", html_to_text(render_plan_html(snapshot, variant=SIKKERBY)))
    return found


def assert_shareable(session: Session | None, snapshot: dict, *, reason: str = "") -> list[Finding]:
    """Raise ``PersonalDataFound`` (CPR numbers, registered or directory people) or
    ``LikelyNames`` (without a reason) unless the Team Sikker By version may be shared; returns
    the likely names the reason overrides."""
    return check_sikkerby(session, snapshot).require(reason=reason,
                                                     what="Versionen til Team Sikker By")


__all__ = ["LikelyNames", "PersonalDataFound", "assert_shareable", "check_for", "check_sikkerby",
           "check_texts", "directory_names", "field_errors", "people_in", "record_override"]
