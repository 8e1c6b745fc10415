"""The delivery log's retention: every attempt at a delivery (with its status and error text,
which may name an address) is deleted after the period, and the last error kept on a delivery or
channel post is cleared. The delivery itself (who was alerted, when, acknowledged or not) stays,
as the record says the alert was sent."""
from __future__ import annotations

from handleplaner.retention import Log, LogTable

from .models import ChannelPost, Delivery, DeliveryAttempt


def delivery_log(months: int) -> Log:
    return Log("delivery_log", "Leveringslog", months, (
        LogTable(DeliveryAttempt, "at"),
        LogTable(Delivery, "created_at", clear=("last_error",)),
        LogTable(ChannelPost, "created_at", clear=("last_error",)),
    ), cleared=("fejltekst", "fejltekster"))
