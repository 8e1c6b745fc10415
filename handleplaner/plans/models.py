"""The fælles handleplan: the plan, its measures and communication plan (the editable draft),
its frozen versions and the styregruppe's decisions on them, and extensions of its period."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..personal_data import PERSONAL

PLAN_STATES = {"udkast": "Udkast", "sendt": "Sendt til godkendelse", "godkendt": "Godkendt",
               "afvist": "Afvist", "evaluering": "Evaluering", "afsluttet": "Afsluttet"}
VERSION_STATES = {"afventer": "Afventer godkendelse", "godkendt": "Godkendt", "afvist": "Afvist",
                  "erstattet": "Erstattet af nyere version"}
MEASURE_STATUSES = {"planlagt": "Planlagt", "i_gang": "I gang", "udfoert": "Udført",
                    "aflyst": "Aflyst"}
APPROVAL_RULES = {"formand": "Styregruppens formand godkender",
                  "et-medlem": "Ét medlem af styregruppen godkender",
                  "flertal": "Et flertal af styregruppen godkender"}
DECISIONS = {"godkend": "Godkendt", "afvis": "Afvist", "kommentar": "Kommentar"}


class Plan(SQLModel, table=True):
    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str = Field(max_length=16)  # handleplan | beredskabsplan
    template_code: str = Field(max_length=64)
    title: str = Field(max_length=200)
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    background: str = Field(sa_column=Column(Text, nullable=False, info=PERSONAL))
    evaluation_text: str = Field(sa_column=Column(Text, nullable=False))
    period_start: datetime
    period_end: datetime
    evaluation_at: datetime
    state: str = Field(max_length=16, default="udkast")
    versions: int = 0  # the number of the newest frozen version
    reminded_at: datetime | None = None  # the secretariat was asked to extend or end
    event_at: datetime | None = None  # a planned beredskabsplan: when the event takes place
    created_at: datetime
    created_by: str = Field(max_length=32)


class PlanMeasure(SQLModel, table=True):
    __tablename__ = "plan_measure"
    __table_args__ = (UniqueConstraint("plan_id", "key", name="uq_plan_measure_key"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    key: str = Field(max_length=32)  # stable across versions, for the diff
    title: str = Field(max_length=200)
    measure_type: str = Field(max_length=32)
    authority_code: str = Field(foreign_key="directory_authority.code", max_length=16)
    responsible_id: str | None = Field(default=None, foreign_key="directory_person.id",
                                       max_length=32)
    starts_at: datetime
    ends_at: datetime
    status: str = Field(max_length=16, default="planlagt")
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, server_default="",
                                                   info=PERSONAL))
    confidential: bool = False
    position: int = 0


class PlanCommunication(SQLModel, table=True):
    __tablename__ = "plan_communication"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    audience: str = Field(max_length=200)
    what: str = Field(sa_column=Column(Text, nullable=False))
    when_at: datetime
    confidentiality: str = Field(max_length=16)  # fortrolig | intern | offentlig
    position: int = 0


class PlanVersion(SQLModel, table=True):
    """A frozen version: what was sent, exactly; approval is of a version, never of a draft."""
    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_plan_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    number: int
    state: str = Field(max_length=16, default="afventer")
    approval_rule: str = Field(max_length=16)
    snapshot: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    frozen_at: datetime
    frozen_by: str = Field(foreign_key="directory_person.id", max_length=32)
    decided_at: datetime | None = None


class ApprovalDecision(SQLModel, table=True):
    __tablename__ = "plan_decision"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="plan_version.id", index=True)
    person_id: str = Field(foreign_key="directory_person.id", max_length=32)
    decision: str = Field(max_length=16)  # godkend | afvis | kommentar
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default="",
                                                     info=PERSONAL))
    via: str = Field(max_length=16, default="web")
    at: datetime


class PlanExtension(SQLModel, table=True):
    __tablename__ = "plan_extension"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    reason: str = Field(sa_column=Column(Text, nullable=False, info=PERSONAL))
    old_end: datetime
    new_end: datetime
    by: str = Field(foreign_key="directory_person.id", max_length=32)
    at: datetime


class PlanEvaluation(SQLModel, table=True):
    """A party's evaluation when the plan's period is over."""
    __tablename__ = "plan_evaluation"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    person_id: str = Field(foreign_key="directory_person.id", max_length=32)
    authority_code: str = Field(max_length=16)
    text: str = Field(sa_column=Column(Text, nullable=False, info=PERSONAL))
    at: datetime
