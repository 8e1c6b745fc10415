"""The bot's message command that registers a person an incident concerns:

    involveret H-2026-0001 Kasper Fiktivsen
    involveret H-2026-0001 Kasper Fiktivsen; alder 16; rolle vidne; kaldenavne KF, Kappe; område Nørrebro

Only for an incident the writer may read the involved people of (the SSP Sekretariat and the
incident's activator, ``Standing.may_read_involved``); the registration itself goes through
``handleplaner.involved.register``, which asks the access policy again and records the step
without the name. Anyone else - also someone who may see the incident but not whom it concerns -
gets the answer of an incident that does not exist. The answers are Danish and never repeat the
name.
"""
from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handleplaner import access as policy
from handleplaner import involved
from handleplaner.directory import queries as directory
from handleplaner.incidents import Incident
from handleplaner.involved.service import LABELS
from handleplaner.storage import transaction

WORD = "involveret"
USAGE = ("Skriv 'involveret', hændelsens nummer (som på varslet) og personens navn, fx "
         "'involveret H-2026-nnnn Fornavn Efternavn'. Tilføj evt. efter semikolon: "
         "'; alder 16; rolle ung|pårørende|vidne|anden; kaldenavne A, B; område Navn'.")
# what the writer may add after the name -> the domain's field
OPTIONS = {"alder": "age", "rolle": "role", "kaldenavne": "nicknames", "kaldenavn": "nicknames",
           "område": "area", "omraade": "area"}
REFERENCE_MAX = 32


def missing(reference: str) -> str:
    """The answer for an incident that does not exist - and for one the writer may not
    register involved people on."""
    return f"Hændelsen {reference} findes ikke."


def parse(text: str) -> tuple[str, dict, str]:
    """``involveret <reference> <name>[; <option> <value>]...`` -> (reference, data, error).
    The error is Danish; empty when the text could be read."""
    words = text.split(None, 2)
    if len(words) < 3 or words[0].lower() != WORD:
        return "", {}, USAGE
    reference = words[1].upper()[:REFERENCE_MAX]
    name, *options = [part.strip() for part in words[2].split(";")]
    data: dict = {"name": name}
    for option in filter(None, options):
        key, _, value = option.partition(" ")
        field = OPTIONS.get(key.strip().lower().rstrip(":"))
        if field is None:
            return reference, {}, (f"Personen er ikke registreret: '{key[:30]}' kendes ikke. "
                                   "Skriv alder, rolle, kaldenavne eller område.")
        data[field] = value.strip()
    return reference, data, ""


def _said(label: str, message: str) -> str:
    """"Alder skal være ...", "Område: ukendt område" (as the web forms say it)."""
    verb = message.split(" ", 1)[0]
    return f"{label} {message}" if verb in ("er", "skal", "har", "må", "kan") else \
        f"{label}: {message}"


def _area_code(session: Session, value):
    """An area given by its name (any case) or its code."""
    if not isinstance(value, str):
        return value
    by_name = {a.name.lower(): a.code for a in directory.all_areas(session)}
    return by_name.get(value.strip().lower(), value.strip())


def register_from_chat(engine: Engine, person_id: str, text: str) -> str:
    """Register the person the text names; the bot's answer."""
    reference, data, error = parse(text)
    if error and not data and not reference:
        return error
    with transaction(engine) as session:
        found = session.exec(select(Incident.id).where(Incident.reference == reference)).first()
        standing = policy.standing(session, person_id, found)
        if not standing.may_read_involved:
            return missing(reference)
        if error:
            return error
        if "area" in data:
            data["area"] = _area_code(session, data["area"])
        try:
            added = involved.register(session, incident_id=standing.incident.id,
                                      actor_id=person_id, data=data)
        except involved.InvolvedRefused:
            return missing(reference)
        except involved.InvolvedInvalid as invalid:
            session.rollback()
            return "Personen er ikke registreret: " + "; ".join(
                _said(LABELS.get(key, key), message) for key, message in invalid.errors.items()
            ) + "."
        role = added.role_label.lower()
    return (f"Personen er registreret som involveret ({role}) på {reference}. Kun SSP "
            "Sekretariatet og den, der aktiverede beredskabet, kan se navnet.")
