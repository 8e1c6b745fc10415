"""Who is alerted. At activation: the fixed parties' leaders in the ledergrupper that cover the
affected areas, and the SSP Sekretariat (seed 003 §7.3: the parties called to a beredskabsmøde)."""
from __future__ import annotations

from sqlmodel import Session

from handleplaner.directory import queries as directory


def activation_audience(session: Session, area_codes: list[str]) -> list:
    """People to alert when beredskab is activated for ``area_codes``, each once, by name."""
    people = {p.id: p for p in directory.ledergruppe_leaders_for_areas(session, area_codes)}
    for person in directory.secretariat_members(session):
        people.setdefault(person.id, person)
    return sorted((p for p in people.values() if p.active), key=lambda p: (p.name, p.id))
