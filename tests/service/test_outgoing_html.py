"""Every outgoing HTML body is rendered from an autoescaped template: an incident title, a meeting
location or a measure with HTML in it arrives as text, escaped, in task e-mails, meeting
invitations (the e-mail and the Outlook event's body, created and updated) and approval mails.
Checked in the requests the Microsoft 365 emulator received."""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.directory import queries as directory
from notifications.messages import alert_message
from notifications.models import Alert

from .helpers import DEMO, noerrebro, secretariat_member, shooting

TITLE = "<b>x</b><script>alert('titel')</script> ved skolen"
LOCATION = "<b>Rådhuset</b><script>alert('sted')</script>"
ESCAPED_TITLE = "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;"
ESCAPED_LOCATION = "&lt;b&gt;Rådhuset&lt;/b&gt;&lt;script&gt;"


def assert_escaped(html: str, *escaped: str) -> None:
    assert "<script" not in html and "<b>x</b>" not in html and "<b>Rådhuset" not in html
    for text in escaped:
        assert text in html, html


def graph_events(emulator, method: str) -> list[dict]:
    return [r["body"] for r in emulator.requests
            if r["api"] == "graph" and r["method"] == method and "/events" in r["path"]
            and isinstance(r.get("body"), dict) and r["body"].get("body")]


async def incident_with_html_title(service):
    editor = secretariat_member(service.engine)
    response = await service.client.post("/api/incidents", headers={DEMO: editor.id},
                                         json=shooting(noerrebro(service.engine), title=TITLE))
    assert response.status == 201, await response.text()
    return editor, await response.json()


async def test_meeting_invitations_and_the_outlook_event_body_are_escaped(service):
    client, emulator = service.client, service.emulator
    editor, created = await incident_with_html_title(service)
    headers = {DEMO: editor.id}
    with Session(service.engine) as session:
        external = directory.list_people(session, authority="TSB")[0]

    # In a room: the location is in the event's body and in the mail-only party's e-mail.
    response = await client.post(f"/api/incidents/{created['id']}/meetings", headers=headers,
                                 json={"online": False, "location": LOCATION, "externals": [
                                     {"person_id": external.id, "reason": "Boligområdet"}]})
    assert response.status == 201, await response.text()
    # The event is the SSP parties' (the mail-only party is not on it); Team Sikker By is outside
    # them, so its mail is the shareable invitation - the reference and type, not the title.
    (created_event,) = graph_events(emulator, "POST")
    content = created_event["body"]["content"]
    assert content.startswith('<div class="ssp-beredskab-indkaldelse">')
    assert_escaped(content, ESCAPED_TITLE, ESCAPED_LOCATION)
    await service.services.worker.run_until_idle(timeout=60)
    (mail,) = emulator.mailboxes[external.email]
    assert mail["body"]["contentType"].lower() == "html"
    assert_escaped(mail["body"]["content"], ESCAPED_LOCATION)
    assert ESCAPED_TITLE not in mail["body"]["content"]

    # Online, then moved: the update renews only our block, escaped, and Teams' blob stays.
    response = await client.post(f"/api/incidents/{created['id']}/meetings", headers=headers,
                                 json={"online": True})
    meeting = await response.json()
    assert response.status == 201, meeting
    moved = await client.post(f"/api/meetings/{meeting['id']}/change", headers=headers,
                              json={"location": LOCATION})
    assert moved.status == 200, await moved.text()
    patch = graph_events(emulator, "PATCH")[-1]
    assert_escaped(patch["body"]["content"], ESCAPED_TITLE)
    assert meeting["join_url"] in patch["body"]["content"]  # the meeting blob is kept


async def test_task_and_approval_mails_are_escaped(service):
    client = service.client
    editor, created = await incident_with_html_title(service)
    headers = {DEMO: editor.id}
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    measure = await client.post(f"/api/plans/{plan['id']}/measures", headers=headers, json={
        "authority": "BUF", "title": "<i>Opsøgende</i><script>alert('opgave')</script>",
        "measure_type": "opsoegende", "starts_at": plan["period"]["start"],
        "ends_at": plan["period"]["end"]})
    assert measure.status == 201, await measure.text()
    sent = await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    assert sent.status == 201, await sent.text()

    with Session(service.engine) as session:
        alerts = list(session.exec(select(Alert).where(Alert.incident_id == created["id"],
                                                       Alert.kind.in_(["opgaver", "godkendelse"]))))
        assert {a.kind for a in alerts} == {"opgaver", "godkendelse"}
        messages = {a.id: (a.kind, alert_message(session, a, "http://beredskab.test"))
                    for a in alerts}
    for kind, message in messages.values():
        assert_escaped(message.html, ESCAPED_TITLE)
        assert message.html.lstrip().startswith("<!doctype html>")
    task_mails = [m.html for kind, m in messages.values() if kind == "opgaver"]
    assert any("&lt;i&gt;Opsøgende&lt;/i&gt;&lt;script&gt;" in html for html in task_mails)
    assert all("<i>Opsøgende" not in html for html in task_mails)

    # And what the emulator's mailboxes received for these alerts is the same escaped HTML.
    await service.services.worker.run_until_idle(timeout=120)
    received = [m["body"]["content"] for messages_ in service.emulator.mailboxes.values()
                for m in messages_ if "opgaver" in m["subject"].lower()
                or "godkendelse" in m["subject"].lower()]
    assert received
    for html in received:
        assert_escaped(html, ESCAPED_TITLE)
