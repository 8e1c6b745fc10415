"""The beredskabsmøde: when and where, who is invited (with the reason for each external party),
their answers, the agenda and the decisions (beslutningsreferat)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..personal_data import PERSONAL

MEETING_STATES = {"indkaldt": "Indkaldt", "aflyst": "Aflyst", "afholdt": "Afholdt"}
RESPONSES = {"none": "Ikke svaret", "accepted": "Deltager", "declined": "Deltager ikke",
             "tentativelyAccepted": "Måske"}


class Meeting(SQLModel, table=True):
    __tablename__ = "meeting"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    starts_at: datetime
    ends_at: datetime
    online: bool = True
    location: str = Field(default="", max_length=200)
    state: str = Field(default="indkaldt", max_length=16)
    uid: str = Field(max_length=128, unique=True)  # iCalendar UID, stable across changes
    sequence: int = 0
    graph_event_id: str | None = Field(default=None, max_length=256)
    join_url: str | None = Field(default=None, max_length=1024)
    organizer: str = Field(max_length=254)
    created_by: str = Field(foreign_key="directory_person.id", max_length=32)
    created_at: datetime


class MeetingInvitee(SQLModel, table=True):
    __tablename__ = "meeting_invitee"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id", name="uq_meeting_invitee"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    person_id: str = Field(foreign_key="directory_person.id", max_length=32)
    authority_code: str = Field(max_length=16)
    external: bool = False
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default="",
                                                    info=PERSONAL))
    by_calendar: bool = True  # invited through Graph; False: email with an .ics file
    response: str = Field(default="none", max_length=24)
    responded_at: datetime | None = None


class AgendaItem(SQLModel, table=True):
    __tablename__ = "meeting_agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    position: int
    title: str = Field(max_length=200)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class MinuteDecision(SQLModel, table=True):
    """A decision in the beslutningsreferat; a decision with a measure becomes a plan measure."""
    __tablename__ = "meeting_decision"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    agenda_item_id: int = Field(foreign_key="meeting_agenda_item.id")
    text: str = Field(sa_column=Column(Text, nullable=False, info=PERSONAL))
    measure: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # JSON
    plan_measure_key: str | None = Field(default=None, max_length=32)
    created_by: str = Field(foreign_key="directory_person.id", max_length=32)
    at: datetime
