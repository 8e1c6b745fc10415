"""What leaves the service in an alert is chosen, not defaulted: the incident's description goes
out only when the sender ticks it, the record says so, and a confidential incident's description
never leaves. Checked in what the Microsoft 365 emulator received (Teams chats and channels,
mailboxes, every Graph and Bot Connector request)."""
from __future__ import annotations

import json

from sqlmodel import Session, select

from handleplaner import record
from handleplaner.incidents.models import Incident
from notifications.models import Alert

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting

# Written as a person would at 02:00; distinctive, so it can be looked for in everything sent.
DESCRIPTION = "Zorbakvist Ulvehøj (17) bor hos sin mor på Nørrebrogade"


def received(emulator) -> str:
    """Everything the emulator received from the service, as one text."""
    return json.dumps([emulator.mailboxes, emulator.chats, emulator.channels,
                       [r.get("body") for r in emulator.requests]],
                      ensure_ascii=False, default=str)


def cards(emulator) -> list[str]:
    return [json.dumps(a["content"], ensure_ascii=False)
            for entries in emulator.chats.values() for e in entries
            for a in e["activity"].get("attachments") or []]


def mails(emulator, sender: str) -> list[dict]:
    return [m for address, messages in emulator.mailboxes.items() if address != sender
            for m in messages]


async def activate(service, person_id, **changes):
    response = await service.client.post(
        "/api/incidents", headers={DEMO: person_id},
        json=shooting(noerrebro(service.engine), description=DESCRIPTION, **changes))
    return response.status, await response.json()


def entries(engine, incident_id, action):
    with Session(engine) as session:
        return [e for e in record.entries(session, incident_id) if e.action == action]


async def sign_in(service, person_id) -> str:
    response = await demo_sign_in(service.client, person_id, allow_redirects=False)
    assert response.status == 303
    form = await (await service.client.get("/aktiver")).text()
    return form.split('name="csrf" value="')[1].split('"')[0]


async def activated_and_delivered(service, person_id, **fields):
    """Activate, let the worker deliver, and return the incident with the cards and mails sent."""
    status, created = await activate(service, person_id, **fields)
    assert status == 201, created
    await service.services.worker.run_until_idle(timeout=120)
    sent_cards = cards(service.emulator)
    sent_mails = mails(service.emulator, service.services.settings.sender_mailbox)
    assert sent_cards and sent_mails
    return created, sent_cards, sent_mails


async def test_an_activation_without_the_box_sends_no_description(service):
    person = secretariat_member(service.engine)
    created, sent_cards, sent_mails = await activated_and_delivered(service, person.id)
    emulator = service.emulator
    assert all("SSP Beredskab er aktiveret for skyderi" in c for c in sent_cards)
    assert all("SSP Beredskab er aktiveret for skyderi" in m["body"]["content"] for m in sent_mails)
    assert all(created["reference"] in c for c in sent_cards)
    assert DESCRIPTION not in received(emulator)
    assert "Ulvehøj" not in received(emulator)

    (accepted,) = entries(service.engine, created["id"], "varsel.accepteret")
    assert json.loads(accepted.data)["with_description"] is False
    assert "beskrivelse" not in accepted.summary


async def test_ticking_the_box_sends_the_description_and_the_record_says_so(service):
    person = secretariat_member(service.engine)
    created, sent_cards, sent_mails = await activated_and_delivered(service, person.id,
                                                                   include_description=True)
    assert all(DESCRIPTION in c for c in sent_cards)
    assert all(DESCRIPTION in m["body"]["content"] for m in sent_mails)

    (activated,) = entries(service.engine, created["id"], "beredskab.aktiveret")
    assert json.loads(activated.data)["include_description"] is True
    (accepted,) = entries(service.engine, created["id"], "varsel.accepteret")
    assert json.loads(accepted.data)["with_description"] is True
    assert "afsenderen valgte at sende hændelsens beskrivelse med" in accepted.summary
    assert accepted.actor_id == person.id


async def test_a_confidential_incident_cannot_send_its_description(service):
    person = secretariat_member(service.engine)
    with Session(service.engine) as session:
        before = len(session.exec(select(Incident)).all())
    status, body = await activate(service, person.id, confidential=True, include_description=True)
    assert status == 422, body
    assert "fortrolig" in body["felter"]["include_description"]
    with Session(service.engine) as session:
        assert len(session.exec(select(Incident)).all()) == before  # nothing written

    # Without the box the confidential activation goes out, and the description stays home.
    status, created = await activate(service, person.id, confidential=True)
    assert status == 201, created
    response = await service.client.post(
        f"/api/incidents/{created['id']}/alerts", headers={DEMO: person.id},
        json={"severity": "varsling", "text": "Hold øje med området i aften.",
              "audience": {"groups": ["styregruppe"]}, "include_description": True})
    assert response.status == 422
    assert "fortrolig" in (await response.json())["felter"]["include_description"]
    await service.services.worker.run_until_idle(timeout=120)
    assert cards(service.emulator)
    assert DESCRIPTION not in received(service.emulator)

    # The compose page offers no box for a confidential incident.
    await sign_in(service, person.id)
    page = await (await service.client.get(f"/haendelser/{created['id']}/varsel")).text()
    assert 'name="include_description"' not in page
    assert "beskrivelsen kan ikke sendes med varslet" in page


async def test_a_confidential_incident_never_renders_a_description_chosen_before(service):
    """Marked confidential after an alert that carried the description: a redrawn card (e.g.
    after acknowledgement) no longer shows it."""
    from notifications.messages import alert_message

    person = secretariat_member(service.engine)
    status, created = await activate(service, person.id, include_description=True)
    assert status == 201
    with Session(service.engine) as session:
        alert = session.exec(select(Alert).where(Alert.incident_id == created["id"])).one()
        assert DESCRIPTION in json.dumps(alert_message(session, alert, "http://x").card,
                                         ensure_ascii=False)
        incident = session.get(Incident, created["id"])
        incident.confidential = True
        session.add(incident)
        session.commit()
        message = alert_message(session, alert, "http://x")
    assert DESCRIPTION not in json.dumps(message.card, ensure_ascii=False)
    assert DESCRIPTION not in message.html and DESCRIPTION not in message.text


async def test_a_composed_alert_carries_the_description_only_when_ticked(service):
    person = secretariat_member(service.engine)
    status, created = await activate(service, person.id)
    assert status == 201
    incident_id = created["id"]
    alert = {"severity": "varsling", "text": "Hold øje med området i aften.",
             "audience": {"groups": ["styregruppe"]}}

    preview = await (await service.client.post(
        f"/api/incidents/{incident_id}/alerts/preview", headers={DEMO: person.id},
        json=alert)).json()
    assert preview["sends"] == {"text": "Hold øje med området i aften.", "description": None}
    preview = await (await service.client.post(
        f"/api/incidents/{incident_id}/alerts/preview", headers={DEMO: person.id},
        json=dict(alert, include_description=True))).json()
    assert preview["sends"]["description"] == DESCRIPTION

    response = await service.client.post(f"/api/incidents/{incident_id}/alerts",
                                         headers={DEMO: person.id}, json=alert)
    assert response.status == 201
    await service.services.worker.run_until_idle(timeout=120)
    assert "Hold øje med området i aften." in received(service.emulator)
    assert DESCRIPTION not in received(service.emulator)

    response = await service.client.post(f"/api/incidents/{incident_id}/alerts",
                                         headers={DEMO: person.id},
                                         json=dict(alert, include_description=True))
    assert response.status == 201  # not merged with the one without the description
    await service.services.worker.run_until_idle(timeout=120)
    assert any(DESCRIPTION in c and "Hold øje med området i aften." in c
               for c in cards(service.emulator))
    accepted = entries(service.engine, incident_id, "varsel.accepteret")
    assert [json.loads(e.data)["with_description"] for e in accepted] == [False, False, True]


async def test_the_activation_form_says_what_is_sent_and_previews_it(service):
    person = secretariat_member(service.engine)
    csrf = await sign_in(service, person.id)
    form = await (await service.client.get("/aktiver")).text()
    assert "Beskrivelsen sendes med varslet" not in form
    assert "ikke beskrivelsen, medmindre du vælger det" in form
    assert 'name="include_description"' in form

    data = shooting(noerrebro(service.engine), description=DESCRIPTION)
    fields = [("csrf", csrf), ("incident_type", data["incident_type"]), ("title", data["title"]),
              ("description", DESCRIPTION), ("severity", "akut"),
              ("occurred_at", data["occurred_at"]), ("handling", "vis")]
    fields += [("areas", code) for code in data["areas"]]

    shown = await (await service.client.post("/aktiver", data=fields)).text()
    section = shown.split('id="sendes"')[1].split("</section>")[0]
    assert "SSP Beredskab er aktiveret for skyderi" in section
    assert DESCRIPTION not in section and "Beskrivelsen sendes ikke med." in section

    shown = await (await service.client.post(
        "/aktiver", data=fields + [("include_description", "ja")])).text()
    section = shown.split('id="sendes"')[1].split("</section>")[0]
    assert DESCRIPTION in section
    with Session(service.engine) as session:
        assert not session.exec(select(Incident)).all()  # a preview writes nothing

    refused = await service.client.post(
        "/aktiver", data=[f for f in fields if f[0] != "handling"]
        + [("include_description", "ja"), ("confidential", "ja")])
    assert refused.status == 422
    text = await refused.text()
    assert "Send beskrivelsen med varslet: hændelsen er fortrolig" in text


async def test_the_compose_form_offers_the_box_and_previews_what_is_sent(service):
    person = secretariat_member(service.engine)
    status, created = await activate(service, person.id)
    assert status == 201
    csrf = await sign_in(service, person.id)
    url = f"/haendelser/{created['id']}/varsel"
    form = await (await service.client.get(url)).text()
    assert 'name="include_description"' in form
    fields = [("csrf", csrf), ("kind", "besked"), ("severity", "varsling"),
              ("text", "Hold øje med området i aften."), ("groups", "styregruppe"),
              ("handling", "vis")]

    shown = await (await service.client.post(url, data=fields)).text()
    section = shown.split('id="sendes"')[1].split("</section>")[0]
    assert "Hold øje med området i aften." in section
    assert DESCRIPTION not in section and "Beskrivelsen sendes ikke med." in section

    shown = await (await service.client.post(
        url, data=fields + [("include_description", "ja")])).text()
    section = shown.split('id="sendes"')[1].split("</section>")[0]
    assert DESCRIPTION in section
    assert 'id="include_description" name="include_description" value="ja" checked' in shown
