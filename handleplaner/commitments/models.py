"""A commitment: one measure of the plan, for one authority, owned by one leader."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..personal_data import PERSONAL

# domain.md 'Lifecycles'; 'forfalden' (overdue) is derived from the time window, not stored.
COMMITMENT_STATES = {"afventer": "Afventer bekræftelse", "bekraeftet": "Bekræftet",
                     "afvist": "Afvist", "videregivet": "Videregivet", "i_gang": "I gang",
                     "udfoert": "Udført", "blokeret": "Blokeret", "udgaaet": "Udgået af planen"}


class Commitment(SQLModel, table=True):
    __tablename__ = "commitment"
    __table_args__ = (UniqueConstraint("plan_id", "measure_key", name="uq_commitment_measure"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    version_id: int = Field(foreign_key="plan_version.id")  # the version it was last sent with
    measure_key: str = Field(max_length=32)
    title: str = Field(max_length=200)
    authority_code: str = Field(foreign_key="directory_authority.code", max_length=16)
    responsible_id: str | None = Field(default=None, foreign_key="directory_person.id",
                                       max_length=32)
    # who the plan named when the version was sent; a hand-over changes responsible_id only
    assigned_id: str | None = Field(default=None, max_length=32)
    starts_at: datetime
    ends_at: datetime
    state: str = Field(max_length=16, default="afventer", index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default="",
                                                    info=PERSONAL))
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default="",
                                                  info=PERSONAL))
    confirmed_at: datetime | None = None
    confirmed_by: str | None = Field(default=None, max_length=32)
    updated_at: datetime
    updated_by: str = Field(max_length=32)
    # Reminders: the last step taken (1 leader, 2 deputy, 3 ledergruppe and secretariat)
    reminder_step: int = 0
    snoozed: bool = False  # a leader may snooze a reminder once
