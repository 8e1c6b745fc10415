"""Graph calendar events with Teams meetings: attendees' copies, answers, updates, cancelling, limits, the SDK."""

from __future__ import annotations

import aiohttp
import pytest

from m365emulator.quotas import GRAPH_PER_MAILBOX

ORGANIZER = "ssp@kk.example"
EVENTS = f"/v1.0/users/{ORGANIZER}/events"


def meeting(**overrides) -> dict:
    event = {
        "subject": "Beredskabsmøde: uro på Nørrebro",
        "body": {"contentType": "HTML", "content": "<p>Dagsorden: status og tiltag</p>"},
        "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Copenhagen"},
        "end": {"dateTime": "2026-03-02T11:00:00", "timeZone": "Europe/Copenhagen"},
        "location": {"displayName": "Rådhuset, lokale 12"},
        "attendees": [
            {"emailAddress": {"address": "anna@kk.example", "name": "Anna Andersen"}, "type": "required"},
            {"emailAddress": {"address": "Bo@kk.example"}, "type": "optional"},
        ],
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
    }
    event.update(overrides)
    return event


async def create(m365, headers, **overrides) -> dict:
    response = await m365.client.post(EVENTS, json=meeting(**overrides), headers=headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def respond(m365, event_id: str, address: str, answer: str):
    return await m365.client.post(f"/_emulator/events/{event_id}/respond", json={"address": address, "response": answer})


async def test_online_meeting_has_a_join_url_and_lands_in_each_attendees_calendar(m365):
    headers = await m365.graph_headers()
    event = await create(m365, headers)

    assert event["id"] and event["iCalUId"] and event["changeKey"] and event["webLink"]
    assert event["createdDateTime"] and event["lastModifiedDateTime"]
    assert event["subject"] == "Beredskabsmøde: uro på Nørrebro"
    assert event["isOnlineMeeting"] is True and event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert event["start"] == {"dateTime": "2026-03-02T10:00:00.0000000", "timeZone": "Europe/Copenhagen"}
    assert event["end"]["dateTime"] == "2026-03-02T11:00:00.0000000"
    assert event["location"]["displayName"] == "Rådhuset, lokale 12"
    # Outlook adds the Teams meeting blob (the join link) to the body.
    assert event["body"]["contentType"] == "html"
    assert event["body"]["content"].startswith("<html><body><p>Dagsorden: status og tiltag</p>")
    assert event["onlineMeeting"]["joinUrl"].replace("&", "&amp;") in event["body"]["content"]
    assert event["organizer"] == {"emailAddress": {"name": ORGANIZER, "address": ORGANIZER}}
    assert event["isOrganizer"] is True and event["isCancelled"] is False
    anna, bo = event["attendees"]
    assert anna["type"] == "required" and anna["status"]["response"] == "none" and anna["status"]["time"]
    assert bo["type"] == "optional" and bo["emailAddress"]["name"] == "Bo Bech"

    calendars = m365.emulator.calendars
    assert set(calendars) == {ORGANIZER, "anna@kk.example", "bo@kk.example"}
    [copy] = calendars["anna@kk.example"]
    assert copy["iCalUId"] == event["iCalUId"] and copy["id"] != event["id"]
    assert copy["isOrganizer"] is False and copy["responseStatus"]["response"] == "notResponded"
    assert copy["onlineMeeting"]["joinUrl"] == event["onlineMeeting"]["joinUrl"]

    [record] = [r for r in m365.emulator.log.select("graph") if r["method"] == "POST"]
    assert record["path"] == EVENTS and record["status"] == 201 and record["mailbox"] == ORGANIZER
    assert record["body"]["subject"] == event["subject"] and record["event_id"] == event["id"]

    page = await m365.client.get("/kalender/anna@kk.example")
    text = await page.text()
    assert page.status == 200 and "Beredskabsmøde: uro på Nørrebro" in text and "Deltager ikke" in text
    overview = await (await m365.client.get("/")).text()
    assert 'href="/kalender/anna%40kk.example"' in overview


async def test_answers_show_in_the_organizers_event(m365):
    headers = await m365.graph_headers()
    event = await create(m365, headers)

    response = await respond(m365, event["id"], "anna@kk.example", "accepted")
    assert response.status == 200
    assert (await response.json())["attendee"]["status"]["response"] == "accepted"
    # The attendee's copy's id works too (as the page's form uses it).
    [bo_copy] = m365.emulator.calendars["bo@kk.example"]
    assert (await respond(m365, bo_copy["id"], "bo@kk.example", "declined")).status == 200

    response = await m365.client.get(f"{EVENTS}/{event['id']}", headers=headers)
    assert response.status == 200
    read = await response.json()
    statuses = {a["emailAddress"]["address"].lower(): a["status"]["response"] for a in read["attendees"]}
    assert statuses == {"anna@kk.example": "accepted", "bo@kk.example": "declined"}
    # GET answers in UTC unless asked otherwise (Prefer: outlook.timezone).
    assert read["start"] == {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "UTC"}
    response = await m365.client.get(
        f"{EVENTS}/{event['id']}", headers={**headers, "Prefer": 'outlook.timezone="Romance Standard Time"'}
    )
    assert (await response.json())["start"]["dateTime"] == "2026-03-02T10:00:00.0000000"
    assert m365.emulator.calendars["bo@kk.example"][0]["responseStatus"]["response"] == "declined"

    assert (await respond(m365, event["id"], "x@kk.example", "accepted")).status == 404
    assert (await respond(m365, event["id"], "anna@kk.example", "maybe")).status == 400
    assert (await respond(m365, "nope", "anna@kk.example", "accepted")).status == 404


async def test_the_calendar_page_buttons_answer(m365):
    headers = await m365.graph_headers()
    event = await create(m365, headers)
    [copy] = m365.emulator.calendars["anna@kk.example"]
    response = await m365.client.post(
        "/kalender/anna@kk.example/svar", data={"event_id": copy["id"], "response": "declined"}, allow_redirects=False
    )
    assert response.status == 303
    [organizers] = m365.emulator.calendars[ORGANIZER]
    assert organizers["attendees"][0]["status"]["response"] == "declined"
    page = await (await m365.client.get(response.headers["Location"])).text()
    assert "Dit svar er sendt: Deltager ikke." in page


async def test_patch_keeps_the_id_and_changes_the_change_key(m365):
    headers = await m365.graph_headers()
    event = await create(m365, headers)
    await respond(m365, event["id"], "anna@kk.example", "accepted")

    changes = {
        "subject": "Beredskabsmøde (flyttet)",
        "start": {"dateTime": "2026-03-02T12:00:00", "timeZone": "Europe/Copenhagen"},
        "end": {"dateTime": "2026-03-02T13:00:00", "timeZone": "Europe/Copenhagen"},
        "attendees": [
            {"emailAddress": {"address": "anna@kk.example"}, "type": "required"},
            {"emailAddress": {"address": "cc@kk.example"}, "type": "required"},
        ],
    }
    response = await m365.client.patch(f"{EVENTS}/{event['id']}", json=changes, headers=headers)
    assert response.status == 200, await response.text()
    updated = await response.json()
    assert updated["id"] == event["id"] and updated["iCalUId"] == event["iCalUId"]
    assert updated["changeKey"] != event["changeKey"]
    assert updated["subject"] == "Beredskabsmøde (flyttet)"
    assert updated["start"]["dateTime"] == "2026-03-02T12:00:00.0000000"
    assert updated["onlineMeeting"]["joinUrl"] == event["onlineMeeting"]["joinUrl"]
    statuses = {a["emailAddress"]["address"]: a["status"]["response"] for a in updated["attendees"]}
    assert statuses == {"anna@kk.example": "accepted", "cc@kk.example": "none"}

    calendars = m365.emulator.calendars
    assert calendars["anna@kk.example"][0]["subject"] == "Beredskabsmøde (flyttet)"
    assert calendars["cc@kk.example"][0]["isCancelled"] is False
    assert calendars["bo@kk.example"][0]["isCancelled"] is True  # taken off the meeting

    response = await m365.client.patch(
        f"{EVENTS}/{event['id']}",
        json={"end": {"dateTime": "2026-03-02T11:00:00", "timeZone": "Europe/Copenhagen"}},
        headers=headers,
    )
    assert response.status == 400
    response = await m365.client.patch(f"{EVENTS}/unknown", json={"subject": "x"}, headers=headers)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "ErrorItemNotFound"


async def test_delete_cancels_the_meeting(m365):
    headers = await m365.graph_headers()
    event = await create(m365, headers)
    response = await m365.client.delete(f"{EVENTS}/{event['id']}", headers=headers)
    assert response.status == 204

    [kept] = m365.emulator.calendars[ORGANIZER]
    assert kept["id"] == event["id"] and kept["isCancelled"] is True
    assert all(c["isCancelled"] for c in m365.emulator.calendars["anna@kk.example"])
    # As in Graph, the organizer's cancelled event is gone; the attendee's copy shows it cancelled.
    response = await m365.client.get(f"{EVENTS}/{event['id']}", headers=headers)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "ErrorItemNotFound"
    copy_id = m365.emulator.calendars["anna@kk.example"][0]["id"]
    response = await m365.client.get(f"/v1.0/users/anna@kk.example/events/{copy_id}", headers=headers)
    assert (await response.json())["isCancelled"] is True
    assert (await m365.client.delete(f"{EVENTS}/{event['id']}", headers=headers)).status == 404
    assert (await respond(m365, event["id"], "anna@kk.example", "accepted")).status == 409
    page = await (await m365.client.get("/kalender/anna@kk.example")).text()
    assert "(aflyst)" in page and 'name="response"' not in page


async def test_cancel_action_with_a_comment(m365):
    headers = await m365.graph_headers()
    event = await create(m365, headers)
    response = await m365.client.post(f"{EVENTS}/{event['id']}/cancel", json={"comment": "Aflyst"}, headers=headers)
    assert response.status == 202
    assert m365.emulator.calendars["bo@kk.example"][0]["isCancelled"] is True


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"subject": None}, "ErrorInvalidRequest"),
        ({"start": None}, "ErrorInvalidRequest"),
        ({"end": None}, "ErrorInvalidRequest"),
        ({"end": {"dateTime": "2026-03-02T09:00:00", "timeZone": "Europe/Copenhagen"}}, "ErrorInvalidRequest"),
        ({"start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "Mars/Olympus"}}, "TimeZoneNotSupportedException"),
        ({"start": {"dateTime": "i morgen", "timeZone": "UTC"}}, "ErrorInvalidRequest"),
        ({"attendees": [{"emailAddress": {"address": "not an address"}}]}, "ErrorInvalidRecipients"),
        ({"onlineMeetingProvider": "skypeForBusiness"}, "ErrorInvalidRequest"),
    ],
)
async def test_bad_input_is_400(m365, overrides, code):
    headers = await m365.graph_headers()
    payload = {k: v for k, v in meeting(**overrides).items() if v is not None}
    response = await m365.client.post(EVENTS, json=payload, headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == code
    assert m365.emulator.calendars == {}


async def test_bad_json_is_400(m365):
    response = await m365.client.post(EVENTS, data=b"{", headers=await m365.graph_headers())
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "BadRequest"


async def test_missing_or_wrong_token_is_401(m365):
    response = await m365.client.post(EVENTS, json=meeting())
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "InvalidAuthenticationToken"
    response = await m365.client.post(EVENTS, json=meeting(), headers=await m365.bot_headers())
    assert response.status == 401
    response = await m365.client.get(f"{EVENTS}/x")
    assert response.status == 401
    assert m365.emulator.calendars == {}


async def test_the_same_transaction_id_makes_one_event(m365):
    headers = await m365.graph_headers()
    first = await create(m365, headers, transactionId="moede-42-v1")
    again = await create(m365, headers, transactionId="moede-42-v1")
    other = await create(m365, headers, transactionId="moede-43-v1")
    assert again["id"] == first["id"] and other["id"] != first["id"]
    assert first["transactionId"] == "moede-42-v1"
    assert len(m365.emulator.calendars[ORGANIZER]) == 2
    assert len(m365.emulator.calendars["anna@kk.example"]) == 2


async def test_events_count_against_the_mailbox_graph_limit_not_the_sending_limit(m365):
    headers = await m365.graph_headers()
    for _ in range(31):  # more than Exchange's 30 messages a minute
        await create(m365, headers)
    quotas = m365.emulator.quotas
    limit, _window = GRAPH_PER_MAILBOX[0]
    app_id = m365.config.bot_app_id
    for _ in range(limit - 31):
        quotas.graph_mailbox.record((app_id, ORGANIZER))
    response = await m365.client.post(EVENTS, json=meeting(), headers=headers)
    assert response.status == 429
    assert (await response.json())["error"]["code"] == "ApplicationThrottled"
    assert int(response.headers["Retry-After"]) > 0


async def test_faults_apply_to_calendar_requests(m365):
    headers = await m365.graph_headers()
    response = await m365.client.post("/_emulator/faults", json={"apis": ["graph"], "error_rate": 1.0, "count": 1})
    assert response.status == 200, await response.text()
    response = await m365.client.post(EVENTS, json=meeting(), headers=headers)
    assert response.status == 503
    assert m365.emulator.calendars == {}
    assert (await m365.client.post(EVENTS, json=meeting(), headers=headers)).status == 201


async def test_msgraph_sdk_creates_an_online_meeting(m365):
    pytest.importorskip("msgraph")
    from msgraph.generated.models.attendee import Attendee
    from msgraph.generated.models.attendee_type import AttendeeType
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.location import Location
    from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType

    from notifications.channels.email import graph_client
    from notifications.tokens import ClientCredentialsTokens

    base = m365.emulator.base_url
    async with aiohttp.ClientSession() as http:
        tokens = ClientCredentialsTokens(
            http,
            token_url=f"{base}/{m365.config.tenant_id}/oauth2/v2.0/token",
            client_id=m365.config.graph_client_id,
            client_secret=m365.config.graph_client_secret,
        )
        graph = graph_client(tokens, f"{base}/v1.0")
        event = Event(
            subject="Beredskabsmøde fra SDK",
            body=ItemBody(content_type=BodyType.Html, content="<p>Hej</p>"),
            start=DateTimeTimeZone(date_time="2026-07-01T09:00:00", time_zone="Europe/Copenhagen"),
            end=DateTimeTimeZone(date_time="2026-07-01T10:00:00", time_zone="Europe/Copenhagen"),
            location=Location(display_name="Teams"),
            attendees=[
                Attendee(email_address=EmailAddress(address="anna@kk.example", name="Anna"), type=AttendeeType.Required)
            ],
            is_online_meeting=True,
            online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
            transaction_id="sdk-1",
        )
        created = await graph.users.by_user_id(ORGANIZER).events.post(event)
        read = await graph.users.by_user_id(ORGANIZER).events.by_event_id(created.id).get()

    assert created.online_meeting.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    assert created.attendees[0].status.response.value == "none"
    assert read.id == created.id and read.start.time_zone == "UTC" and read.start.date_time.startswith("2026-07-01T07:00")
    assert m365.emulator.calendars["anna@kk.example"][0]["subject"] == "Beredskabsmøde fra SDK"
    sent = next(r for r in m365.emulator.log.select("graph") if r["method"] == "POST")["body"]
    assert sent["isOnlineMeeting"] is True and sent["onlineMeetingProvider"] == "teamsForBusiness"
