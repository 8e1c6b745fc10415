"""The beredskabsmøde through the service: the Graph request that creates the Teams meeting,
the .ics for mail-only parties parsed by a real iCalendar parser, update and cancel flows, and
the deputies alerted when an authority has nobody coming."""
from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
from sqlmodel import Session, select

from handleplaner.directory import queries as directory
from notifications.models import Alert

from .helpers import DEMO, noerrebro, secretariat_member, shooting


async def test_call_change_cancel_and_the_deputy_of_an_absent_authority(service):
    client, emulator = service.client, service.emulator
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers,
                                       json=shooting(noerrebro(service.engine)))).json()
    with Session(service.engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    response = await client.post(f"/api/incidents/{created['id']}/meetings", headers=headers, json={
        "online": True, "externals": [{"person_id": external.id, "reason": "Boligområdet"}]})
    meeting = await response.json()
    assert response.status == 201, meeting
    assert meeting["join_url"].startswith("https://teams.microsoft.com/l/meetup-join/")

    (create,) = [r for r in emulator.requests if r["api"] == "graph" and r["method"] == "POST"
                 and r["path"].endswith("/events")]
    body = create["body"]
    assert body["isOnlineMeeting"] is True and body["onlineMeetingProvider"] == "teamsForBusiness"
    assert body["transactionId"] == meeting["uid"]
    invited = {a["emailAddress"]["address"] for a in body["attendees"]}
    with Session(service.engine) as session:
        people = {p.id: p for p in directory.list_people(session)}
    calendar_people = {people[i["person_id"]].email for i in meeting["invitees"] if i["by_calendar"]}
    assert invited == calendar_people and external.email not in invited

    # The mail-only party gets an .ics invitation that a calendar program accepts.
    await service.services.worker.run_until_idle(timeout=60)
    ics = await (await client.get(f"/api/meetings/{meeting['id']}/invitation.ics",
                                  headers=headers)).read()
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = [c for c in calendar.walk("VEVENT")]
    assert str(calendar["METHOD"]) == "REQUEST" and str(event["UID"]) == meeting["uid"]
    assert event.decoded("DTSTART").tzinfo is not None
    assert event.decoded("DTSTART") == datetime.fromisoformat(meeting["starts_at"])
    (mail,) = emulator.mailboxes[external.email]
    assert "invitation.ics" in str(mail["attachments"])

    # Moved: the same event is patched, the .ics keeps its UID with a higher SEQUENCE.
    later = (datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=1)).isoformat()
    moved = await (await client.post(f"/api/meetings/{meeting['id']}/change", headers=headers,
                                     json={"starts_at": later})).json()
    assert moved["sequence"] == 1
    assert any(r["method"] == "PATCH" for r in emulator.requests if r["api"] == "graph")
    # The new body keeps Outlook's Teams meeting blob, so the meeting stays online with the same
    # join link (Graph, "Update event": body property and online meetings).
    (organized,) = [e for events in emulator.calendars.values() for e in events
                    if e["id"] == _graph_id(service, meeting["id"])]
    assert organized["isOnlineMeeting"] is True
    assert organized["onlineMeeting"]["joinUrl"] == meeting["join_url"]
    assert 'class="me-email-headline"' in organized["body"]["content"]
    assert organized["body"]["content"].count("ssp-beredskab-indkaldelse") == 1
    ics = icalendar.Calendar.from_ical(await (await client.get(
        f"/api/meetings/{meeting['id']}/invitation.ics", headers=headers)).read())
    (event,) = list(ics.walk("VEVENT"))
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (meeting["uid"], 1)

    # KFF cannot come: their deputies are alerted.
    for invitee in meeting["invitees"]:
        if invitee["by_calendar"]:
            answer = "declined" if invitee["authority"] == "KFF" else "accepted"
            await client.session.post(
                f"{emulator.base_url}/_emulator/events/{_graph_id(service, meeting['id'])}/respond",
                json={"address": people[invitee["person_id"]].email, "response": answer})
    synced = await (await client.post(f"/api/meetings/{meeting['id']}/responses/sync",
                                      headers=headers)).json()
    assert synced["not_represented"] == ["KFF"]
    with Session(service.engine) as session:
        alert = session.exec(select(Alert).where(Alert.dedupe_key.like("%afbud:KFF"))).one()
    assert "Du er suppleant" in alert.body

    # Cancelled: the event is deleted and the .ics says CANCEL.
    await client.post(f"/api/meetings/{meeting['id']}/cancel", headers=headers,
                      json={"reason": "Situationen er afklaret"})
    assert any(r["method"] == "DELETE" for r in emulator.requests if r["api"] == "graph")
    ics = icalendar.Calendar.from_ical(await (await client.get(
        f"/api/meetings/{meeting['id']}/invitation.ics", headers=headers)).read())
    assert str(ics["METHOD"]) == "CANCEL"
    assert str(list(ics.walk("VEVENT"))[0]["STATUS"]) == "CANCELLED"


def _graph_id(service, meeting_id):
    from handleplaner.meetings.models import Meeting

    with Session(service.engine) as session:
        return session.get(Meeting, meeting_id).graph_event_id


async def test_the_meeting_page_calls_the_meeting_and_keeps_the_minutes(service):
    client = service.client
    editor = secretariat_member(service.engine)
    created = await (await client.post("/api/incidents", headers={DEMO: editor.id},
                                       json=shooting(noerrebro(service.engine)))).json()
    await client.post("/log-ind", data={"person": editor.id})
    url = f"/haendelser/{created['id']}/moede"
    page = await (await client.get(url)).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    with Session(service.engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    response = await client.post(url, data={"csrf": csrf, "handling": "indkald", "online": "ja",
                                            "ekstern": external.id, "grund_0": ""})
    assert response.status == 422 and "konkret vurdering" in await response.text()
    response = await client.post(url, allow_redirects=False, data={
        "csrf": csrf, "handling": "indkald", "online": "ja", "ekstern": external.id,
        "grund_0": "Boligsocial indsats"})
    assert response.status == 303, await response.text()
    page = await (await client.get(url)).text()
    assert "Deltag i Teams-mødet" in page and "Boligsocial indsats" in page
    assert "Forslag fra skabelonen" in page
    response = await client.post(url, allow_redirects=False, data={
        "csrf": csrf, "handling": "beslutning", "agenda_position": "1",
        "text": "Politiet orienterer dagligt kl. 9"})
    assert response.status == 303
    response = await client.post(url, allow_redirects=False, data={"csrf": csrf, "handling": "referat"})
    assert response.status == 303
    assert "Afholdt" in await (await client.get(url)).text()
