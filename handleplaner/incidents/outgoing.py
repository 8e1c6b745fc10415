"""What of an incident may leave the service in an alert.

An alert carries the text its sender wrote, or the template's text with the incident's facts
(type, areas, time, severity, reference). The incident's description (where a person writing at
night will put names) goes out only when the sender has chosen it for that alert, and never for a
confidential incident. ``outgoing_description`` is the one place that decides it, at the time an
alert is rendered; a later check of the text for personal data belongs there too.
"""
from __future__ import annotations

CONFIDENTIAL_REFUSED = ("hændelsen er fortrolig; dens beskrivelse sendes aldrig med et varsel "
                        "(fjern fluebenet)")


def description_choice_error(*, confidential: bool, chosen: bool) -> str | None:
    """The Danish error for a choice that may not be made, or None: a confidential incident's
    description may not be chosen for an alert."""
    if chosen and confidential:
        return CONFIDENTIAL_REFUSED
    return None


def outgoing_description(incident, chosen: bool) -> str:
    """The description as it may leave the service in an alert, or "" when it may not: not
    chosen by the sender, or the incident is (now) confidential."""
    if not chosen or incident.confidential:
        return ""
    return (incident.description or "").strip()
