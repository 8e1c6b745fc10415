"""The delivery log's retention: every attempt at a delivery (with its status and error text,
which may name an address) is deleted after the period, and the last error kept on a delivery or
channel post is cleared. The delivery itself (who was alerted, when, acknowledged or not) stays,
as the record says the alert was sent.

Forgetting (``handleplaner.forgetting``): the alerts' texts are free text, scrubbed of the
registered people's names and CPR numbers with the incident; the rest of these tables holds
codes, ids and Microsoft's ids. The error texts are free text too (an address, a name)."""
from __future__ import annotations

from handleplaner.forgetting import Columns, declare
from handleplaner.retention import Log, LogTable

from .models import ChannelPost, Delivery, DeliveryAttempt


def delivery_log(months: int) -> Log:
    return Log("delivery_log", "Leveringslog", months, (
        LogTable(DeliveryAttempt, "at"),
        LogTable(Delivery, "created_at", clear=("last_error",)),
        LogTable(ChannelPost, "created_at", clear=("last_error",)),
    ), cleared=("fejltekst", "fejltekster"))


declare("alert", Columns(("title", "body", "audience"),
                         ("kind", "severity", "created_by", "dedupe_key", "state")))
declare("delivery", Columns(("last_error",),
                            ("person_id", "channel", "state", "claimed_by", "provider_message_id",
                             "conversation_id", "acknowledged_by", "on_behalf_of"),
                            why="koder, id'er og Microsofts id'er"))
declare("delivery_attempt", Columns(("error",), ("outcome",)))
declare("channel_post", Columns(("last_error",),
                                ("group_code", "channel_id", "state", "claimed_by",
                                 "conversation_id", "activity_id"),
                                why="koder, id'er og Microsofts id'er"))
