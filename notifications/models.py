"""Alerts and their deliveries. The delivery rows are the outbox: written in the same
transaction as the domain change, claimed and worked off by the delivery worker."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Delivery states (domain.md 'Lifecycles'); stored codes -> Danish labels.
QUEUED, SENT, FAILED, ACKNOWLEDGED, ESCALATED = "i_koe", "sendt", "fejlet", "kvitteret", "eskaleret"
DELIVERY_STATES = {QUEUED: "I kø", SENT: "Sendt", FAILED: "Fejlet", ACKNOWLEDGED: "Kvitteret",
                   ESCALATED: "Eskaleret"}
# Alert kinds; code -> Danish label.
ALERT_KINDS = {"aktivering": "Aktivering", "besked": "Varsel", "opdatering": "Opdatering",
               "normaldrift": "Normaldrift", "godkendelse": "Handleplan til godkendelse",
               "sikkerby": "Handleplan til Team Sikker By",
               "opgaver": "Opgaver i handleplanen", "moede": "Indkaldelse til beredskabsmøde"}
ALERT_STATES = {"aktiv": "Aktiv", "kvitteret": "Kvitteret (kvorum nået)", "afsluttet": "Afsluttet"}


class Alert(SQLModel, table=True):
    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: str = Field(max_length=32)  # e.g. "aktivering"
    severity: str = Field(max_length=16)
    exercise: bool = False
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    created_by: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=128, unique=True)
    # Acknowledgement: required or not, the quorum per authority, and when to escalate.
    requires_ack: bool = False
    quorum_per_authority: int | None = None
    escalate_after_s: int | None = None
    # A follow-up (opdatering, normaldrift) points at the alert it follows.
    parent_alert_id: int | None = Field(default=None, foreign_key="alert.id")
    audience: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    state: str = Field(default="aktiv", max_length=16)  # aktiv | kvitteret | afsluttet
    closed_at: datetime | None = None
    # A plan version sent to the styregruppe for approval (kind "godkendelse").
    plan_version_id: int | None = Field(default=None, foreign_key="plan_version.id")
    # The sender chose to send the incident's description with this alert (never by default,
    # never for a confidential incident; see handleplaner.incidents.outgoing).
    with_description: bool = False


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("alert_id", "person_id", "channel", name="uq_delivery_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    person_id: str = Field(foreign_key="directory_person.id", max_length=32)
    channel: str = Field(max_length=16)
    state: str = Field(max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    provider_message_id: str | None = Field(default=None, max_length=256)
    conversation_id: str | None = Field(default=None, max_length=256)
    created_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = Field(default=None, max_length=32)
    # Escalation: 0 for the original recipients; the step that added this delivery otherwise,
    # with the original recipient it was sent on behalf of.
    escalation_level: int = 0
    on_behalf_of: str | None = Field(default=None, foreign_key="directory_person.id", max_length=32)


class DeliveryAttempt(SQLModel, table=True):
    """One try at a delivery: every attempt is a row, with its outcome."""
    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    at: datetime
    outcome: str = Field(max_length=16)  # sendt | begrænset | midlertidig | ukendt | permanent
    status_code: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    retry_after: float | None = None
    duration_ms: int | None = None


class TeamsConversation(SQLModel, table=True):
    """The bot's personal conversation with a person, kept for proactive messages."""
    __tablename__ = "teams_conversation"

    person_id: str = Field(foreign_key="directory_person.id", primary_key=True, max_length=32)
    conversation_id: str = Field(max_length=256)
    service_url: str = Field(max_length=512)
    created_at: datetime
    # The person's Teams id (MRI, "29:..."), from the `from.id` of what they send the bot; the
    # ids a card's refresh.userIds must hold. Unknown until the person has written or pressed.
    user_mri: str | None = Field(default=None, max_length=256)


class ChannelPost(SQLModel, table=True):
    """An alert posted into a group's Teams channel (a thread started by the bot). Worked off by
    the delivery worker like the deliveries; follow-ups reply in the thread."""
    __tablename__ = "channel_post"
    __table_args__ = (UniqueConstraint("alert_id", "group_code", name="uq_channel_post_once"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    group_code: str = Field(foreign_key="directory_group.code", max_length=64)
    channel_id: str = Field(max_length=128)
    state: str = Field(max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    conversation_id: str | None = Field(default=None, max_length=256)
    activity_id: str | None = Field(default=None, max_length=256)
    created_at: datetime
