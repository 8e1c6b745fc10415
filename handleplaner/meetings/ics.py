"""The beredskabsmøde as an iCalendar invitation (RFC 5545 / iTIP RFC 5546), for parties reached by email.

One VCALENDAR with METHOD:REQUEST (a new or changed meeting) or METHOD:CANCEL, a VTIMEZONE for
Europe/Copenhagen and one VEVENT whose times are Copenhagen local time. A change or a cancellation
is sent with the same UID and a higher SEQUENCE, so calendars update the meeting they have.

The VTIMEZONE is built from the tz database (zoneinfo) for the meeting's years. icalendar's own
`Timezone.from_tzinfo` (7.x) writes the DAYLIGHT onset in summer time (03:00), where RFC 5545 reads
DTSTART in TZOFFSETFROM (02:00, as Outlook and the tz database's other converters write it).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Literal, Sequence
from zoneinfo import ZoneInfo

import icalendar

PRODID = "-//SSP København//SSP Beredskab//DA"
TZID = "Europe/Copenhagen"
COPENHAGEN = ZoneInfo(TZID)

Method = Literal["REQUEST", "CANCEL"]
Status = Literal["CONFIRMED", "CANCELLED"]


def _utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is read as UTC (as timestamps are stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _offset(moment: datetime) -> timedelta:
    return moment.astimezone(COPENHAGEN).utcoffset() or timedelta(0)


def _observance(moment: datetime, before: timedelta) -> icalendar.Component:
    """The observance that begins at `moment` (UTC): DTSTART is its onset in local time before it."""
    local = moment.astimezone(COPENHAGEN)
    component = icalendar.TimezoneDaylight() if local.dst() else icalendar.TimezoneStandard()
    component.add("dtstart", (moment + before).replace(tzinfo=None))
    component.add("tzname", local.tzname())
    component.add("tzoffsetfrom", before)
    component.add("tzoffsetto", local.utcoffset())
    return component


@lru_cache(maxsize=16)
def _copenhagen(first_year: int, last_year: int) -> icalendar.Timezone:
    """Europe/Copenhagen's offset on 1 January `first_year` and its changes until 1 January `last_year`."""
    vtimezone = icalendar.Timezone()
    vtimezone.add("tzid", TZID)
    moment = datetime.combine(date(first_year, 1, 1), time(), timezone.utc)
    end = datetime.combine(date(last_year, 1, 1), time(), timezone.utc)
    vtimezone.add_component(_observance(moment, _offset(moment)))
    day = timedelta(days=1)
    while moment < end:
        after = moment + day
        if _offset(after) != _offset(moment):
            low, high = moment, after  # the first instant of the new offset, to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (low, middle) if _offset(middle) != _offset(moment) else (middle, high)
            vtimezone.add_component(_observance(high, _offset(moment)))
        moment = after
    return vtimezone


def _when(moment: datetime) -> datetime:
    """Copenhagen local time (written with TZID); in UTC for the second pass of the hour repeated in
    October, which a local time with TZID cannot name (RFC 5545 reads it as the first)."""
    local = moment.astimezone(COPENHAGEN)
    return moment if local.fold else local


def _address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    for key, value in params.items():
        address.params[key.replace("_", "-")] = value
    return address


def meeting_ics(
    *,
    uid: str,
    sequence: int,
    method: Method,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str,
    organizer_email: str,
    organizer_name: str,
    attendees: Sequence[tuple[str, str]],
    url: str | None,
    status: Status,
    stamp: datetime | None = None,
) -> bytes:
    """The invitation (or cancellation) as .ics bytes, UTF-8 with CRLF lines folded at 75 octets.

    `start` and `end` are instants (aware; naive is read as UTC) and are written as Copenhagen local
    time with TZID; `attendees` are (email, name). `stamp` is the DTSTAMP (default now).
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    if status not in ("CONFIRMED", "CANCELLED"):
        raise ValueError(f"status must be CONFIRMED or CANCELLED, not {status!r}")
    if method == "CANCEL" and status != "CANCELLED":
        raise ValueError("a CANCEL must have status CANCELLED")
    if sequence < 0:
        raise ValueError("sequence must be 0 or more")
    starts, ends = _utc(start), _utc(end)
    if ends < starts:
        raise ValueError("the meeting ends before it starts")

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(_copenhagen(starts.year, ends.year + 1))

    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", _utc(stamp) if stamp is not None else datetime.now(timezone.utc))
    event.add("dtstart", _when(starts))
    event.add("dtend", _when(ends))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    event.add("organizer", _address(organizer_email, organizer_name))
    for email, name in attendees:
        event.add(
            "attendee",
            _address(email, name, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="TRUE"),
        )
    event.add("status", status)
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()
