"""The incident record (notatpligt): who did what, when. Append-only and hash-chained; the
personal part of an entry is encrypted (``keys``)."""
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
    # The clear part: what was done, without free text; "{name}" marks where a value of the
    # personal part is shown when the entry is read (``record.readable``).
    summary: str = Field(sa_column=Column(Text, nullable=False))
    data: str = Field(sa_column=Column(Text, nullable=False, default="{}"))
    # The personal part (free text copied from titles, reasons ...), encrypted under the
    # incident's key (``record.keys``); None when the entry has none.
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
