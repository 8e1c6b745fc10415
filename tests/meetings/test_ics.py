"""The .ics invitation: Copenhagen local times with a VTIMEZONE, UID and SEQUENCE, cancelling, attendees."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest

from handleplaner.meetings.ics import PRODID, meeting_ics

UTC = timezone.utc
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
UID = "beredskabsmoede-17@ssp-beredskab.kk.dk"


def ics(**overrides) -> bytes:
    values = dict(
        uid=UID, sequence=0, method="REQUEST",
        start=datetime(2026, 1, 15, 9, 0, tzinfo=UTC), end=datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
        summary="Beredskabsmøde HÆ-2026-017: Uro ved Blågårds Plads – æøå ÆØÅ",
        description="Dagsorden:\n1. Status\n2. Tiltag; næste skridt, ansvar",
        location="https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
        organizer_email="ssp@kk.example", organizer_name="SSP Sekretariatet",
        attendees=[("anna@kk.example", "Anna Åberg"), ("bo@politi.example", "Bo Bech, Politiet")],
        url="https://beredskab.kk.example/haendelser/17", status="CONFIRMED",
    )
    values.update(overrides)
    return meeting_ics(**values)


def parse(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def test_calendar_header_and_event_properties():
    data = ics()
    calendar, event = parse(data)
    assert str(calendar["PRODID"]) == PRODID == "-//SSP København//SSP Beredskab//DA"
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == UID and int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["LOCATION"]).startswith("https://teams.microsoft.com/")
    assert str(event["URL"]) == "https://beredskab.kk.example/haendelser/17"
    assert str(event["DESCRIPTION"]) == "Dagsorden:\n1. Status\n2. Tiltag; næste skridt, ansvar"
    assert event.decoded("DTSTAMP").tzinfo is not None and event.decoded("DTSTAMP").utcoffset() == timedelta(0)
    assert b"DTSTAMP:" in data and data.count(b"BEGIN:VEVENT") == 1
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:ssp@kk.example" and organizer.params["CN"] == "SSP Sekretariatet"


def test_lines_are_crlf_and_folded_to_75_octets():
    data = ics(summary="Beredskabsmøde " + "æøå " * 40)
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line for line in lines)
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # folded
    _, event = parse(data)
    assert str(event["SUMMARY"]) == "Beredskabsmøde " + "æøå " * 40


def test_summary_with_danish_letters_survives():
    _, event = parse(ics())
    assert str(event["SUMMARY"]) == "Beredskabsmøde HÆ-2026-017: Uro ved Blågårds Plads – æøå ÆØÅ"


@pytest.mark.parametrize(
    "start, local_hour, offset_hours",
    [
        (datetime(2026, 1, 15, 9, 0, tzinfo=UTC), 10, 1),  # winter: UTC+1
        (datetime(2026, 7, 15, 9, 0, tzinfo=UTC), 11, 2),  # summer: UTC+2
    ],
)
def test_times_are_copenhagen_local_and_map_back_to_the_same_instant(start, local_hour, offset_hours):
    data = ics(start=start, end=start + timedelta(hours=1))
    _, event = parse(data)
    dtstart = event["DTSTART"]
    assert dtstart.params["TZID"] == "Europe/Copenhagen"
    local = event.decoded("DTSTART")
    assert (local.hour, local.utcoffset()) == (local_hour, timedelta(hours=offset_hours))
    assert local.astimezone(UTC) == start
    assert event.decoded("DTEND").astimezone(UTC) == start + timedelta(hours=1)
    assert f"DTSTART;TZID=Europe/Copenhagen:{start.astimezone(COPENHAGEN):%Y%m%dT%H%M%S}".encode() in data


def test_a_meeting_across_the_night_summer_time_ends():
    # 25 October 2026, 01:30 summer time to 03:30 winter time: three hours, not two.
    start = datetime(2026, 10, 25, 1, 30, tzinfo=COPENHAGEN)
    end = datetime(2026, 10, 25, 3, 30, tzinfo=COPENHAGEN)
    data = ics(start=start.astimezone(UTC), end=end.astimezone(UTC))
    _, event = parse(data)
    assert b"DTSTART;TZID=Europe/Copenhagen:20261025T013000" in data
    assert b"DTEND;TZID=Europe/Copenhagen:20261025T033000" in data
    starts, ends = event.decoded("DTSTART").astimezone(UTC), event.decoded("DTEND").astimezone(UTC)
    assert starts == datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert ends == datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    assert ends - starts == timedelta(hours=3)


def test_the_second_pass_of_the_repeated_hour_is_written_in_utc():
    # 02:30 happens twice that night; a local time with TZID means the first, so the second is UTC.
    first, second = datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    data = ics(start=first, end=second)
    _, event = parse(data)
    assert b"DTSTART;TZID=Europe/Copenhagen:20261025T023000" in data and b"DTEND:20261025T013000Z" in data
    assert event.decoded("DTSTART").astimezone(UTC) == first
    assert event.decoded("DTEND").astimezone(UTC) == second


def test_vtimezone_gives_copenhagens_rules_as_rfc_5545_reads_them():
    calendar, _ = parse(ics(start=datetime(2026, 7, 1, 8, tzinfo=UTC), end=datetime(2026, 7, 1, 9, tzinfo=UTC)))
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Copenhagen"
    observances = vtimezone.walk("STANDARD") + vtimezone.walk("DAYLIGHT")
    onsets = []
    for observance in observances:
        before = observance["TZOFFSETFROM"].td
        after = observance["TZOFFSETTO"].td
        # The onset is DTSTART read in the offset before it (RFC 5545 3.6.5).
        onset = observance.decoded("DTSTART").replace(tzinfo=UTC) - before
        assert (onset + timedelta(seconds=1)).astimezone(COPENHAGEN).utcoffset() == after
        onsets.append((onset, observance.name))
    changes = sorted(o for o in onsets if o[0].month in (3, 10))
    assert changes == [
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "DAYLIGHT"),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), "STANDARD"),
    ]
    # icalendar's own reading of the VTIMEZONE agrees with zoneinfo around both changes.
    tz = vtimezone.to_tz()
    for moment in (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
                   datetime(2026, 10, 25, 0, 59, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)):
        assert moment.astimezone(tz).utcoffset() == moment.astimezone(COPENHAGEN).utcoffset()


def test_an_update_keeps_the_uid_with_a_higher_sequence():
    _, first = parse(ics())
    later = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    _, update = parse(ics(sequence=1, start=later, end=later + timedelta(hours=1)))
    assert str(update["UID"]) == str(first["UID"]) == UID
    assert int(update["SEQUENCE"]) > int(first["SEQUENCE"])
    assert update.decoded("DTSTART").astimezone(UTC) == later


def test_cancel_has_method_cancel_and_status_cancelled():
    data = ics(sequence=2, method="CANCEL", status="CANCELLED")
    calendar, event = parse(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == UID and int(event["SEQUENCE"]) == 2
    with pytest.raises(ValueError):
        ics(method="CANCEL", status="CONFIRMED")


def test_attendees_are_asked_to_answer():
    _, event = parse(ics())
    attendees = event["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:anna@kk.example", "mailto:bo@politi.example"]
    assert [a.params["CN"] for a in attendees] == ["Anna Åberg", "Bo Bech, Politiet"]
    for attendee in attendees:
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"


def test_no_url_and_bad_arguments():
    _, event = parse(ics(url=None))
    assert "URL" not in event
    with pytest.raises(ValueError):
        ics(method="PUBLISH")
    with pytest.raises(ValueError):
        ics(start=datetime(2026, 1, 15, 10, tzinfo=UTC), end=datetime(2026, 1, 15, 9, tzinfo=UTC))


def test_a_naive_time_is_read_as_utc_as_stored():
    naive = datetime(2026, 7, 15, 9, 0)
    _, event = parse(ics(start=naive, end=naive + timedelta(hours=1)))
    assert event.decoded("DTSTART").astimezone(UTC) == naive.replace(tzinfo=UTC)
