"""Time in the product: stored as naive UTC, shown in Copenhagen time."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def utcnow() -> datetime:
    """Now as naive UTC, the form every timestamp is stored in (portable across databases)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc(moment: datetime) -> datetime:
    """Naive UTC from any datetime; a naive input is taken to be Copenhagen local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COPENHAGEN)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def local(moment: datetime) -> datetime:
    """Copenhagen time for a stored (naive UTC) timestamp."""
    return moment.replace(tzinfo=timezone.utc).astimezone(COPENHAGEN)


def dansk(moment: datetime) -> str:
    """E.g. '23.11.2026 kl. 21:14' in Copenhagen time."""
    return local(moment).strftime("%d.%m.%Y kl. %H:%M")


def iso_utc(moment: datetime) -> str:
    return moment.replace(tzinfo=timezone.utc).isoformat()
