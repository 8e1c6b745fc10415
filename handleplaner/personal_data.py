"""Personal data lives in marked fields.

A column that may hold personal data about citizens (the young people and their families an
incident concerns) is declared with ``info=PERSONAL``. What goes to outsiders (alerts, the Team
Sikker By version, an access-request copy) is produced without these fields, and retention
anonymises them when they are due (retsplejelovens § 115, databeskyttelsesforordningen art. 5).
Names and CPR numbers written into other free text are caught by the guard in
``handleplaner.privacy.check``.
"""
from __future__ import annotations

from typing import Any, Iterator

from sqlmodel import SQLModel

PERSONAL = {"personal_data": True}
REDACTED = "[fjernet: personoplysninger]"


def personal_fields(model: type[SQLModel]) -> tuple[str, ...]:
    """The names of ``model``'s columns marked as personal data."""
    return tuple(column.name for column in model.__table__.columns
                 if column.info.get("personal_data"))


def marked_models() -> list[type[SQLModel]]:
    """Every table model with at least one marked column (all models must be imported)."""
    return sorted((mapper.class_ for mapper in SQLModel._sa_registry.mappers
                   if personal_fields(mapper.class_)), key=lambda model: model.__tablename__)


def redacted(row: SQLModel, replacement: str = REDACTED) -> dict[str, Any]:
    """The row as a dict with its marked fields replaced (empty fields stay empty)."""
    data = row.model_dump()
    for name in personal_fields(type(row)):
        if data.get(name):
            data[name] = replacement
    return data


# Where a plan version's snapshot (plans.service.snapshot / version_snapshot) holds frozen copies
# of marked fields ("*": each item of a list). Retention and the aktindsigt copy both work from
# this; a field added to snapshots later that copies a marked column must be named here.
SNAPSHOT_MARKED: tuple[tuple[str, ...], ...] = (
    ("background",),                            # Plan.background
    ("measures", "*", "notes"),                 # PlanMeasure.notes
    ("approval", "decisions", "*", "comment"),  # ApprovalDecision.comment
    ("period", "extended", "*", "reason"),      # PlanExtension.reason
)
# The names of the people behind confidential measures, frozen with the version.
SNAPSHOT_PEOPLE = ("confidential_people",)


def locate(node: Any, path: tuple[str, ...]) -> Iterator[tuple[dict, str]]:
    """The (container, key) pairs ``path`` names in a JSON document; '*' steps into every list
    item."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in node if isinstance(node, list) else []:
            yield from locate(item, rest)
    elif isinstance(node, dict):
        if not rest:
            if head in node:
                yield node, head
        else:
            yield from locate(node.get(head), rest)
