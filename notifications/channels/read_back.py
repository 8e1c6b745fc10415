"""Reading back whether an interrupted call reached Microsoft after all.

Neither the Bot Connector nor Graph ``sendMail`` takes an idempotency key. A row whose worker
died in the middle of a call (its claim ran out unanswered) may or may not have been delivered;
sending it again could alert a person twice. Before that, the worker asks Microsoft what arrived:
the person's chat with the bot (``teams_read_back``) or the sender's Sent Items
(``mail_read_back``). A reader answers which of the recipients already have the alert, or raises
``ReadBackFailed`` when Microsoft cannot say; then the row waits and is asked about again.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol, Sequence

from .base import Recipient

# Clocks of Microsoft and of the service differ a little; look this much further back.
SLACK = timedelta(minutes=1)


def card_marker(alert_id: int) -> str:
    """The element id an alert's Teams card carries (templates/teams/*.json.j2), by which it is
    found in a chat again."""
    return f"varsel-{alert_id}"


class ReadBackFailed(Exception):
    """Microsoft could not say (an error, throttling, no connection): ask again later, never guess."""


class ReadBack(Protocol):
    async def delivered(self, alert_id: int, recipients: Sequence[Recipient],
                        since: datetime) -> dict[str, str | None]:
        """Person id -> Microsoft's id of what arrived, for the recipients who have the alert."""


def look_back_to(moment: datetime) -> datetime:
    """How far back to look for what a delivery queued at ``moment`` may have left: SLACK
    earlier, in UTC (a naive moment is taken as UTC, as the database gives it back)."""
    return (moment.replace(tzinfo=moment.tzinfo or timezone.utc) - SLACK).astimezone(timezone.utc)
