"""The people an incident concerns (involverede personer): young people, relatives, witnesses.

Their own data class, apart from the incident: the secretariat registers them (name, nicknames,
age, area - never more than needed) so the personal-data check knows whom to look for in what is
shared. Fewer people may read them than may read the incident (``access.may_read_involved``),
and they are kept for their own period (``RETENTION_MONTHS``, counted from the incident's
closing).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from ..personal_data import PERSONAL

# Kept this many months after the incident is closed, then forgotten (name, nicknames and
# every occurrence of them). Its own period; today the same as the incident's marked fields
# (BEREDSKAB_RETENTION_PERSONAL_DATA_MONTHS, 6).
RETENTION_MONTHS = 6

ROLES = {"ung": "Ung", "paaroerende": "Pårørende", "vidne": "Vidne", "anden": "Anden"}
ROLE_ALIASES = {"pårørende": "paaroerende", "paarorende": "paaroerende"}

NAME_MAX = 120
NICKNAME_MAX = 60
NICKNAMES_MAX = 10
AGE_MAX = 120


class InvolvedPerson(SQLModel, table=True):
    __tablename__ = "involved_person"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    name: str = Field(sa_column=Column(Text, nullable=False, info=PERSONAL))
    nicknames: list = Field(default_factory=list,
                            sa_column=Column(JSON, nullable=False, info=PERSONAL))
    age: int | None = None
    area_code: str | None = Field(default=None, max_length=64)
    role: str = Field(max_length=16)
    created_by: str = Field(foreign_key="directory_person.id", max_length=32)
    created_at: datetime

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def nickname_list(self) -> list[str]:
        """The nicknames as text; anything else (a forgotten value) counts as none."""
        if not isinstance(self.nicknames, list):
            return []
        return [str(n) for n in self.nicknames if isinstance(n, str) and n.strip()]
