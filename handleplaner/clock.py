"""Time in the product: stored as timezone-aware UTC, shown in Copenhagen time."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the form every timestamp is stored in."""
    return datetime.now(timezone.utc)


def to_utc(moment: datetime) -> datetime:
    """Aware UTC from any datetime; a naive input is taken to be Copenhagen local time
    (what a person types into a form)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COPENHAGEN)
    return moment.astimezone(timezone.utc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def local(moment: datetime) -> datetime:
    """Copenhagen time for a stored timestamp (a naive one is read as UTC)."""
    return _aware(moment).astimezone(COPENHAGEN)


def dansk(moment: datetime) -> str:
    """E.g. '23.11.2026 kl. 21:14' in Copenhagen time."""
    return local(moment).strftime("%d.%m.%Y kl. %H:%M")


def iso_utc(moment: datetime) -> str:
    return _aware(moment).astimezone(timezone.utc).isoformat()
