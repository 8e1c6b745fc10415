"""Personal data lives in marked fields.

A column that may hold personal data about citizens (the young people and their families an
incident concerns) is declared with ``info=PERSONAL``. What goes to outsiders (alerts, the Team
Sikker By version, an access-request copy) is produced without these fields, and retention
anonymises them when they are due (retsplejelovens § 115, databeskyttelsesforordningen art. 5).
Names and CPR numbers written into other free text are caught by the guard in
``handleplaner.plans.privacy``.
"""
from __future__ import annotations

from typing import Any

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
