"""The whole path: an authorised person activates beredskab, the emulator receives the Teams
messages and the emails for the right people, and the incident shows every delivery's state."""
from __future__ import annotations

from sqlmodel import Session

from handleplaner import record
from handleplaner.directory import queries as directory
from notifications.audiences import activation_audience
from notifications.outbox import channels_of

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting


async def activate(service, person_id, data):
    response = await service.client.post("/api/incidents", json=data, headers={DEMO: person_id})
    return response.status, await response.json()


async def test_activation_reaches_the_fixed_parties_on_teams_and_email(service):
    areas = noerrebro(service.engine)
    assert areas, "the demo organisation has Nørrebro areas"
    activator = secretariat_member(service.engine)

    status, created = await activate(service, activator.id, shooting(areas))
    assert status == 201, created
    await service.services.worker.run_until_idle(timeout=120)

    with Session(service.engine) as session:
        audience = activation_audience(session, areas)
        leaders = directory.ledergruppe_leaders_for_areas(session, areas)
    # The fixed parties' leaders of the covering ledergrupper are all in the audience.
    assert {p.authority_code for p in leaders} >= {"BUF", "SOF", "KFF", "BIF", "POL"}
    assert {p.id for p in leaders} <= {p.id for p in audience}

    emulator = service.emulator
    by_email = {p.email.lower(): p for p in audience}
    sender = service.services.settings.sender_mailbox
    mailed = {address for address, messages in emulator.mailboxes.items() if messages} - {sender}
    assert len(emulator.mailboxes[sender]) == 1  # the function mailbox is To, the people BCC
    assert mailed == {p.email.lower() for p in audience if "email" in channels_of(p)}
    for address in mailed:
        (message,) = emulator.mailboxes[address]
        assert message["subject"].startswith("Beredskab aktiveret (Akut): Skyderi eller knivstikkeri")
        assert created["reference"] in message["subject"]
        assert "Åbn hændelsen" in message["body"]["content"]
        assert by_email[address]

    chatted = {user for user, entries in emulator.chats.items() if entries}
    assert chatted == {p.teams_user_id for p in audience if "teams" in channels_of(p)}
    for user in chatted:
        (entry,) = emulator.chats[user]
        card = entry["activity"]["attachments"][0]["content"]
        texts = [b.get("text") for b in card["body"] if b.get("type") == "TextBlock"]
        assert any("SSP Beredskab er aktiveret for skyderi" in (t or "") for t in texts)
        # The description was not chosen, so it stays in the service.
        assert not any("Skud affyret" in (t or "") for t in texts)

    # Every connector and Graph call carried a valid token: none were refused.
    calls = [r for r in emulator.requests if r["api"] in ("bot", "graph")]
    assert calls and all(r["status"] < 400 for r in calls), [r for r in calls if r["status"] >= 400]
    # Email went out as one BCC message per batch, not one per person.
    sends = [r for r in calls if r["path"].endswith("/sendMail")]
    assert len(sends) == 1

    # The incident shows each delivery as sent.
    response = await service.client.get(f"/api/incidents/{created['id']}/deliveries",
                                        headers={DEMO: activator.id})
    rows = await response.json()
    assert len(rows) == len(mailed) + len(chatted)
    assert {r["state"] for r in rows} == {"sendt"}

    # The record has the activation, the accepted alert and one entry per delivery.
    with Session(service.engine) as session:
        actions = [e.action for e in record.entries(session, created["id"])]
        assert actions[:2] == ["beredskab.aktiveret", "varsel.accepteret"]
        assert actions.count("varsel.leveret") == len(rows)
        assert record.verify_chain(session, created["id"]) is None


async def test_incident_page_lists_recipients_and_states(service):
    areas = noerrebro(service.engine)
    activator = secretariat_member(service.engine)
    status, created = await activate(service, activator.id, shooting(areas))
    assert status == 201
    page = await (await service.client.get(f"/haendelser/{created['id']}",
                                           headers={DEMO: activator.id})).text()
    assert "I kø" in page  # before the worker ran
    await service.services.worker.run_until_idle(timeout=120)
    page = await (await service.client.get(f"/haendelser/{created['id']}",
                                           headers={DEMO: activator.id})).text()
    with Session(service.engine) as session:
        audience = activation_audience(session, areas)
    for person in audience:
        assert person.name in page
    assert "Sendt" in page and "I kø</td>" not in page
    assert "Varsel leveret til" in page  # the record is on the page


async def test_activation_on_the_web_page(service):
    client = service.client
    activator = secretariat_member(service.engine)
    response = await demo_sign_in(client, activator.id, allow_redirects=False)
    assert response.status == 303
    form = await (await client.get("/aktiver")).text()
    assert "Aktivér beredskab" in form
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    data = shooting(noerrebro(service.engine))
    fields = [("csrf", csrf), ("incident_type", data["incident_type"]), ("title", data["title"]),
              ("description", data["description"]), ("severity", "akut"),
              ("occurred_at", data["occurred_at"]), ("exercise", "ja")]
    fields += [("areas", code) for code in data["areas"]]
    response = await client.post("/aktiver", data=fields, allow_redirects=False)
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    page = await (await client.get(location)).text()
    assert "ØVELSE" in page and data["title"] in page
    await service.services.worker.run_until_idle(timeout=120)
    subjects = [m["subject"] for msgs in service.emulator.mailboxes.values() for m in msgs]
    assert subjects and all(s.startswith("ØVELSE – ") for s in subjects)


async def test_a_person_writing_to_the_bot_gets_a_danish_answer(service):
    activator = secretariat_member(service.engine)
    status, _ = await service.emulator.send_to_bot(activator.teams_user_id, text="hjælp")
    assert status in (200, 201, 202)
    (entry,) = service.emulator.chats[activator.teams_user_id]
    assert entry["activity"]["text"].startswith(f"Hej {activator.name}.")
    assert "SSP Beredskabs bot" in entry["activity"]["text"]


async def test_throttling_errors_and_dropped_connections_still_deliver_everything(service):
    """With Microsoft answering 429, 503 and dropping connections for a while, every delivery
    still ends up sent, each failed try is written down, and nobody gets the alert twice."""
    emulator = service.emulator
    response = await service.client.session.post(f"{emulator.base_url}/_emulator/faults", json={
        "apis": ["graph", "bot"], "throttle_rate": 0.3, "retry_after": 1, "error_rate": 0.2,
        "error_status": [500, 503], "drop_rate": 0.1, "count": 12, "seed": 5})
    assert response.status in (200, 201), await response.text()
    service.services.worker.backoff_base = 0.05
    activator = secretariat_member(service.engine)
    status, created = await activate(service, activator.id, shooting(noerrebro(service.engine)))
    assert status == 201
    await service.services.worker.run_until_idle(timeout=120)

    faulted = [r for r in emulator.requests if r.get("fault")]
    assert faulted, "the emulator injected faults"
    rows = await (await service.client.get(f"/api/incidents/{created['id']}/deliveries",
                                           headers={DEMO: activator.id})).json()
    assert {r["state"] for r in rows} == {"sendt"}
    assert any(r["attempts"] > 1 for r in rows)
    # Faults strike before Microsoft stores anything, so no retry gives anyone a second copy.
    assert all(len(entries) == 1 for entries in emulator.chats.values())
    sender = service.services.settings.sender_mailbox
    assert all(len(messages) == 1 for address, messages in emulator.mailboxes.items()
               if address != sender)
    with Session(service.engine) as session:
        actions = [e.action for e in record.entries(session, created["id"])]
    assert actions.count("varsel.forsinket") >= 1
    assert actions.count("varsel.leveret") == len(rows)


async def test_installing_the_bot_keeps_the_conversation_for_later_alerts(service):
    from notifications.models import TeamsConversation

    activator = secretariat_member(service.engine)
    status, _ = await service.emulator.send_install_update(activator.teams_user_id)
    assert status in (200, 201, 202)
    with Session(service.engine) as session:
        kept = session.get(TeamsConversation, activator.id)
    assert kept is not None
    assert kept.conversation_id == service.emulator.personal_conversation(activator.teams_user_id)["id"]
    assert "Velkommen" in service.emulator.chats[activator.teams_user_id][-1]["activity"]["text"]
