"""Faults at the edge: while the emulator fails a share of Graph and Bot Connector calls (5xx,
429 with Retry-After, dropped connections) during a fan-out, the service keeps answering pages,
the API and card presses; once the faults stop, every delivery arrives exactly once."""
from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlmodel import Session, select

from handleplaner.directory import queries as directory
from m365emulator.faults import Faults
from notifications.models import FAILED, QUEUED, ChannelPost, Delivery

from tests.service.helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting

FAULTS = {"apis": ["graph", "bot"], "error_rate": 0.25, "error_status": [500, 502, 503],
          "throttle_rate": 0.15, "retry_after": 1, "drop_rate": 0.1, "latency_ms": [0, 150]}


def mentions(reference: str, *texts) -> bool:
    return any(isinstance(t, str) and f"[{reference}]" in t for t in texts)


def chat_copies(emulator, user_id: str, reference: str) -> int:
    """Cards about the incident in the person's chat (a card replaced in place counts once)."""
    count = 0
    for entry in emulator.chats.get(user_id, []):
        first = (entry.get("history") or [entry["activity"]])[0]
        if not entry.get("deleted") and mentions(reference, first.get("summary"),
                                                 entry["activity"].get("summary")):
            count += 1
    return count


async def test_faults_do_not_stop_pages_or_presses_and_everything_arrives_once(service):
    client, emulator, engine = service.client, service.emulator, service.engine
    worker = service.services.worker
    worker.max_attempts = 40  # the faults last longer than the usual attempts would
    worker.backoff_base = 0.2
    worker.channel_poster.backoff = lambda attempts: 0.3
    worker.channel_poster.max_attempts = 40
    emulator.set_faults(Faults.from_json(FAULTS), seed=11)

    secretary = secretariat_member(engine)
    created = await client.post("/api/incidents", headers={DEMO: secretary.id},
                                json=shooting(noerrebro(engine)))
    assert created.status == 201, await created.text()
    incident = await created.json()
    await demo_sign_in(client, secretary.id)  # the web pages too
    delivering = asyncio.create_task(worker.run_forever(0.05))
    try:
        # While the faults last: the API and the pages answer, and a card press is taken.
        # (The clock only bounds the loop: a few seconds of faults, and until a card is pressed.)
        pressed, rounds = None, 0
        ends, gives_up = time.monotonic() + 4.0, time.monotonic() + 60.0
        while (time.monotonic() < ends or pressed is None) and time.monotonic() < gives_up:
            for path in (f"/api/incidents/{incident['id']}",
                         f"/api/incidents/{incident['id']}/deliveries",
                         f"/haendelser/{incident['id']}", f"/haendelser/{incident['id']}/opgaver"):
                response = await client.get(path, headers={DEMO: secretary.id})
                assert response.status == 200, await response.text()
            rounds += 1
            if pressed is None:
                pressed = await press_a_card(service, incident["reference"])
            await asyncio.sleep(0.1)
        assert pressed is not None, "no card arrived while the faults lasted"
        assert rounds > 1
        faulted = Counter(r["fault"] for r in emulator.requests if r.get("fault"))
        assert faulted["error"] and faulted["throttle"] and faulted["drop"]
    finally:
        emulator.clear_faults()
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)

    await worker.run_until_idle(timeout=45)
    with Session(engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.incident_id == incident["id"])))
        posts = list(session.exec(select(ChannelPost).where(
            ChannelPost.incident_id == incident["id"])))
        people = {p.id: p for p in directory.list_people(session)}
    assert rows and not [d for d in rows if d.state in (FAILED, QUEUED)]
    assert not [p for p in posts if p.state in (FAILED, QUEUED)]
    copies, expected = {}, {}
    for d in rows:
        # Once acknowledged (the card pressed) a person's other channels are not needed.
        expected[(d.person_id, d.channel)] = 1 if d.sent_at else 0
        person = people[d.person_id]
        if d.channel == "teams":
            copies[(d.person_id, "teams")] = chat_copies(emulator, person.teams_user_id,
                                                         incident["reference"])
        elif d.channel == "email":
            copies[(d.person_id, "email")] = sum(
                1 for m in emulator.mailboxes.get(person.email.lower(), [])
                if mentions(incident["reference"], m["subject"]))
    assert sum(expected.values()) >= len(rows) - 2
    assert {k: n for k, n in copies.items() if n != expected[k]} == {}


async def press_a_card(service, reference: str):
    """Press Kvitter on the first card that has arrived; the bot must answer at once."""
    for user_id, entries in list(service.emulator.chats.items()):
        for entry in entries:
            card = entry["activity"]["attachments"][0]["content"]
            if not mentions(reference, entry["activity"].get("summary")):
                continue
            action = next(a for a in card.get("actions", []) if a["type"] == "Action.Execute")
            status, answer = await service.emulator.send_to_bot(
                user_id, reply_to_id=entry["id"],
                invoke_value={"action": {"type": "Action.Execute", "verb": action["verb"],
                                         "data": action["data"]}})
            assert status == 200 and answer["statusCode"] == 200, answer
            return user_id
    return None
