"""The incident (hændelse) and the areas it touches."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from ..personal_data import PERSONAL


class Incident(SQLModel, table=True):
    __tablename__ = "incident"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)
    incident_type: str = Field(max_length=32)
    title: str = Field(max_length=200)
    description: str = Field(sa_column=Column(Text, nullable=False, info=PERSONAL))
    severity: str = Field(max_length=16)
    occurred_at: datetime
    activated_at: datetime
    activated_by: str = Field(foreign_key="directory_person.id", max_length=32)
    exercise: bool = False
    confidential: bool = False
    whole_city: bool = False
    state: str = Field(max_length=32, index=True)
    # The head of the incident record's hash chain, so a removed last entry is noticed too.
    record_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    record_head: str = Field(default="0" * 64, max_length=64,
                             sa_column_kwargs={"server_default": "0" * 64})


class IncidentArea(SQLModel, table=True):
    __tablename__ = "incident_area"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    area_code: str = Field(foreign_key="directory_area.code", primary_key=True, max_length=64)
