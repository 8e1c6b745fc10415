"""`$select` on a calendar event, as Graph answers `GET /users/{id}/events/{id}?$select=...`.

The event resource type (https://learn.microsoft.com/en-us/graph/api/resources/event) lists the
properties `$select` may name; Outlook matches their names without regard to case. The answer
holds `id` and the named properties (null when the event has no value), and a name the type does
not have is 400 RequestBroker--ParseUri, as on messages.
"""

from __future__ import annotations

EVENT_PROPERTIES = (
    "allowNewTimeProposals", "attendees", "body", "bodyPreview", "categories", "changeKey",
    "createdDateTime", "end", "hasAttachments", "hideAttendees", "iCalUId", "id", "importance",
    "isAllDay", "isCancelled", "isDraft", "isOnlineMeeting", "isOrganizer", "isReminderOn",
    "lastModifiedDateTime", "location", "locations", "onlineMeeting", "onlineMeetingProvider",
    "onlineMeetingUrl", "organizer", "originalEndTimeZone", "originalStart", "originalStartTimeZone",
    "recurrence", "reminderMinutesBeforeStart", "responseRequested", "responseStatus", "sensitivity",
    "seriesMasterId", "showAs", "start", "subject", "transactionId", "type", "webLink",
)


class SelectRejected(Exception):
    """A `$select` Graph refuses; `code` and the message are Graph's."""

    code = "RequestBroker--ParseUri"


def selected_names(select: str) -> list[str]:
    """The event properties `select` names, in their canonical case; SelectRejected if one is unknown."""
    names = []
    for raw in select.split(","):
        name = raw.strip()
        if not name:
            continue
        found = next((p for p in EVENT_PROPERTIES if p.lower() == name.lower()), None)
        if found is None:
            raise SelectRejected(f"Could not find a property named '{name}' on type 'microsoft.graph.event'.")
        names.append(found)
    return names


def select_view(view: dict, names: list[str]) -> dict:
    """The event's view cut to `id`, the OData annotations and the named properties."""
    kept = {k: v for k, v in view.items() if k.startswith("@odata.")}
    kept["id"] = view.get("id")
    for name in names:
        kept[name] = view.get(name)
    return kept
