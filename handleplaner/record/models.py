"""The incident record (notatpligt): who did what, when. Append-only and hash-chained."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class RecordEntry(SQLModel, table=True):
    __tablename__ = "record_entry"
    __table_args__ = (UniqueConstraint("incident_id", "seq", name="uq_record_incident_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    seq: int
    at: datetime
    actor_id: str = Field(max_length=64)  # a person id, or "system"
    action: str = Field(max_length=64)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    data: str = Field(sa_column=Column(Text, nullable=False, default="{}"))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
