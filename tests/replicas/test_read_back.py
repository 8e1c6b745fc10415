"""An interrupted Teams delivery (its worker died mid-call, so nobody knows whether Teams took
the card) is read back from the person's chat through Graph before it is sent again: a card
that is there is written down as sent, a card that is not is sent, once. When Graph cannot
answer, the row is neither sent nor given up: it waits a backoff, still marked unanswered, and is
asked about again."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from handleplaner.clock import utcnow
from handleplaner.directory import queries as directory
from handleplaner.storage import transaction
from m365emulator.faults import Faults
from notifications.lease import UNANSWERED
from notifications.models import QUEUED, SENT, Alert, Delivery, DeliveryAttempt

from tests.service.helpers import DEMO, noerrebro, secretariat_member, shooting


def cards(emulator, user_id: str, alert_id: int) -> list[dict]:
    marker = f'"varsel-{alert_id}"'
    return [e for e in emulator.chats.get(user_id, [])
            if not e.get("deleted") and marker in str(e["activity"]).replace("'", '"')]


def seen(service, channel: str, outcome: str) -> float:
    """How many read-backs /metrics counts with this outcome."""
    return service.services.metrics.registry.get_sample_value(
        "beredskab_read_backs_total", {"channel": channel, "outcome": outcome}) or 0


def interrupt(engine, delivery_id: int) -> None:
    """Put the row back as a worker that died in the middle of its call leaves it."""
    past = utcnow() - timedelta(minutes=5)
    with transaction(engine) as session:
        row = session.get(Delivery, delivery_id)
        row.state, row.sent_at, row.provider_message_id = QUEUED, None, None
        row.claimed_by, row.claimed_until = "worker-dead-1-abcdef:0badf00d", past
        row.next_attempt_at = past
        session.add(row)


async def sent_alert(service, channel: str = "teams") -> tuple[int, list[Delivery], dict]:
    engine = service.engine
    secretary = secretariat_member(engine)
    created = await service.client.post("/api/incidents", headers={DEMO: secretary.id},
                                        json=shooting(noerrebro(engine)))
    assert created.status == 201, await created.text()
    incident = await created.json()
    await service.services.worker.run_until_idle(timeout=60)
    with Session(engine) as session:
        rows = list(session.exec(select(Delivery).where(
            Delivery.incident_id == incident["id"], Delivery.channel == channel)
            .order_by(Delivery.id)))
        people = {p.id: p for p in directory.list_people(session)}
    assert len(rows) >= 3 and all(d.state == SENT for d in rows)
    return rows[0].alert_id, rows, people


async def test_a_card_already_in_the_chat_is_not_sent_again(service):
    emulator, engine, worker = service.emulator, service.engine, service.services.worker
    alert_id, rows, people = await sent_alert(service)
    first = rows[0]
    user = people[first.person_id].teams_user_id
    assert len(cards(emulator, user, alert_id)) == 1
    interrupt(engine, first.id)
    posts_before = sum(1 for r in emulator.requests if r["api"] == "bot" and r["method"] == "POST")

    await worker.run_until_idle(timeout=30)

    assert len(cards(emulator, user, alert_id)) == 1  # not twice
    reads = [r["path"] for r in emulator.requests if r["api"] == "graph" and "/chats/" in r["path"]]
    assert reads and all(r.endswith("/messages") for r in reads)
    posts_after = sum(1 for r in emulator.requests if r["api"] == "bot" and r["method"] == "POST")
    assert posts_after == posts_before
    with Session(engine) as session:
        row = session.get(Delivery, first.id)
        assert row.state == SENT and row.claimed_by is None
        assert row.provider_message_id == cards(emulator, user, alert_id)[0]["id"]
        last = session.exec(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == first.id)
                            .order_by(DeliveryAttempt.id.desc())).first()
        assert last.outcome == "sendt" and "fundet i Teams-chatten" in last.error
    assert seen(service, "teams", "fundet") == 1 and seen(service, "teams", "ikke_fundet") == 0


async def test_a_card_that_never_arrived_is_sent_once(service):
    emulator, engine, worker = service.emulator, service.engine, service.services.worker
    alert_id, rows, people = await sent_alert(service)
    second = rows[1]
    user = people[second.person_id].teams_user_id
    # The call never reached Teams: the chat does not hold the card.
    emulator.chats[user] = [e for e in emulator.chats[user] if e not in cards(emulator, user, alert_id)]
    interrupt(engine, second.id)

    await worker.run_until_idle(timeout=30)

    assert len(cards(emulator, user, alert_id)) == 1
    with Session(engine) as session:
        assert session.get(Delivery, second.id).state == SENT


async def test_when_graph_cannot_say_the_row_waits_and_is_asked_about_again(service):
    emulator, engine, worker = service.emulator, service.engine, service.services.worker
    alert_id, rows, people = await sent_alert(service)
    third = rows[2]
    user = people[third.person_id].teams_user_id
    interrupt(engine, third.id)
    emulator.set_faults(Faults.from_json({"apis": ["graph"], "error_rate": 1.0,
                                          "error_status": [503]}), seed=3)
    await worker.run_once()
    with Session(engine) as session:
        row = session.get(Delivery, third.id)
        # not sent: it waits, and is read back (not sent) when next claimed
        assert row.state == QUEUED and row.claimed_by == UNANSWERED + worker.name
        assert row.claimed_until is None and row.next_attempt_at > utcnow()
    assert len(cards(emulator, user, alert_id)) == 1
    assert seen(service, "teams", "ubesvaret") == 1

    emulator.clear_faults()
    with transaction(engine) as session:  # its wait is over
        row = session.get(Delivery, third.id)
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    await worker.run_until_idle(timeout=30)
    assert len(cards(emulator, user, alert_id)) == 1
    with Session(engine) as session:
        assert session.get(Delivery, third.id).state == SENT


def mails(emulator, address: str, subject: str) -> int:
    return sum(1 for m in emulator.mailboxes.get(address.lower(), []) if m["subject"] == subject)


async def test_an_interrupted_mail_goes_only_to_those_sent_items_do_not_name(service):
    emulator, engine, worker = service.emulator, service.engine, service.services.worker
    _, rows, people = await sent_alert(service, "email")
    arrived, missing = (people[rows[0].person_id].email, people[rows[1].person_id].email)
    (sent,) = [m for items in emulator.sent_items.values() for m in items
               if missing in m["bcc"]]
    subject = sent["subject"]
    assert sent["extended_properties"] and mails(emulator, arrived, subject) == 1
    # The second person's copy never went out (another message, lost with its worker).
    sent["bcc"].remove(missing)
    emulator.mailboxes[missing.lower()] = [m for m in emulator.mailboxes[missing.lower()]
                                           if m["subject"] != subject]
    interrupt(engine, rows[0].id)
    interrupt(engine, rows[1].id)

    await worker.run_until_idle(timeout=30)

    assert mails(emulator, arrived, subject) == 1  # not twice
    assert mails(emulator, missing, subject) == 1  # sent now, once
    resent = [m for items in emulator.sent_items.values() for m in items
              if m["subject"] == subject and m is not sent]
    assert [m["bcc"] for m in resent] == [[missing]]
    with Session(engine) as session:
        found = session.exec(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == rows[0].id)
                             .order_by(DeliveryAttempt.id.desc())).first()
        assert "fundet i Sendt post" in found.error
        assert session.get(Delivery, rows[1].id).state == SENT


async def test_every_card_the_worker_posts_can_be_found_again(service):
    """Activation, the plan to the styregruppe, the leaders' task cards: each Teams delivery's
    card carries its alert's marker, so an interrupted one of any kind is found in the chat."""
    from tests.service.test_incident_page import approved_plan

    await approved_plan(service)
    with Session(service.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.channel == "teams",
                                                        Delivery.state != QUEUED)))
        kinds = {a.id: a.kind for a in session.exec(select(Alert))}
        people = {p.id: p for p in directory.list_people(session)}
    assert {"godkendelse", "opgaver"} <= {kinds[d.alert_id] for d in rows}
    for row in rows:
        user = people[row.person_id].teams_user_id
        assert cards(service.emulator, user, row.alert_id), (kinds[row.alert_id], row.person_id)
