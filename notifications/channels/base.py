"""The narrow interface every channel adapter implements.

The domain produces one ``AlertMessage``; each channel renders it its own way and reports one
``DeliveryResult`` per batch. A channel may take several recipients in one call (email: one
message with up to 500 BCC recipients); ``max_batch`` says how many.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence


@dataclass(frozen=True)
class Recipient:
    person_id: str
    name: str
    email: str | None = None
    teams_user_id: str | None = None
    conversation_id: str | None = None  # an earlier personal conversation, if known


@dataclass(frozen=True)
class AlertMessage:
    alert_id: int
    incident_id: int
    subject: str
    text: str  # plain-text summary: Teams notification text, email text part
    facts: tuple[tuple[str, str], ...]
    severity: str
    exercise: bool
    link: str
    card: dict = field(default_factory=dict, hash=False)
    html: str = ""
    # (file name, content type, bytes), e.g. the plan's PDF for the styregruppe
    attachments: tuple[tuple[str, str, bytes], ...] = ()


@dataclass
class DeliveryResult:
    ok: bool
    provider_message_id: str | None = None
    conversation_id: str | None = None
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the provider asked us to wait (429)
    transient: bool = False  # worth retrying (5xx, timeout, dropped connection)
    # Teams: the person blocked or removed the bot (403 MessageWritesBlocked); never retried,
    # the person is reached on their next channel at once
    writes_blocked: bool = False
    # No answer came (reset, timeout) after the request went out: Microsoft may have acted, so
    # the worker reads back what arrived before any resend (channels/unanswered.py).
    unknown: bool = False

    @property
    def throttled(self) -> bool:
        return self.status_code == 429


class Channel(Protocol):
    name: str
    max_batch: int

    async def send(self, message: AlertMessage, recipients: Sequence[Recipient]) -> DeliveryResult:
        ...
