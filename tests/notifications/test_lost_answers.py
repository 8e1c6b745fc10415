"""A call Microsoft acted on whose answer was lost (the connection reset, the client's timeout ran
out) is *unknown*, not failed: the row is read back from the person's chat or the Sent Items
before anything is sent again, so the alert arrives once. A call refused with a clear answer
(5xx) keeps the ordinary retry, and a call that never arrived is sent again once.

The emulator plays the lost answer after the request took effect (faults ``lost_rate``).
"""
from __future__ import annotations

from collections import Counter

import httpx
from sqlmodel import Session, select

from m365emulator.faults import Faults
from notifications.channels.unanswered import may_have_arrived
from notifications.models import FAILED, SENT, Delivery, DeliveryAttempt

from tests.service.helpers import DEMO, noerrebro, secretariat_member, shooting

ACTIVITIES = "/activities"


def marker(alert_id: int) -> str:
    return f'"varsel-{alert_id}"'


def cards(emulator, user_id: str, alert_id: int) -> int:
    return sum(1 for e in emulator.chats.get(user_id, [])
               if not e.get("deleted") and marker(alert_id) in str(e["activity"]).replace("'", '"'))


async def activation(service) -> tuple[str, int]:
    """An incident whose activation alert has reached everyone (conversations kept)."""
    secretary = secretariat_member(service.engine)
    created = await service.client.post("/api/incidents", headers={DEMO: secretary.id},
                                        json=shooting(noerrebro(service.engine)))
    assert created.status == 201, await created.text()
    await service.services.worker.run_until_idle(timeout=60)
    return secretary.id, (await created.json())["id"]


async def follow_up(service, faults: dict) -> tuple[int, dict[str, Delivery]]:
    """An update to the same people while the faults apply; (alert id, person -> delivery)."""
    person_id, incident_id = await activation(service)
    response = await service.client.post(
        f"/api/incidents/{incident_id}/alerts", headers={DEMO: person_id},
        json={"kind": "opdatering", "severity": "orientering", "text": "Situationen er uændret."})
    assert response.status == 201, await response.text()
    alert_id = (await response.json())["id"]
    worker = service.services.worker
    while worker.channel_poster.pending():  # the groups' channel threads first, without faults
        await worker.channel_poster.run_once()
    service.emulator.set_faults(Faults.from_json(faults), seed=5)
    await worker.run_until_idle(timeout=60)
    with Session(service.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.alert_id == alert_id)))
    return alert_id, rows


def outcomes(engine, delivery_id: int) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        return [(a.outcome, a.error) for a in session.exec(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.id))]


def people(engine) -> dict:
    from handleplaner.directory import queries as directory
    with Session(engine) as session:
        return {p.id: p for p in directory.list_people(session)}


def assert_one_mail_each(service, subject: str, mail: list[Delivery]) -> None:
    by_person = people(service.engine)
    for row in mail:
        copies = [m for m in service.emulator.mailboxes[by_person[row.person_id].email.lower()]
                  if m["subject"] == subject]
        assert len(copies) == 1, (row.person_id, len(copies))


async def test_a_card_whose_answer_was_lost_is_found_in_the_chat_not_posted_again(service):
    """Fails on a worker that takes a reset connection for a failure: it posts the card twice."""
    emulator = service.emulator
    alert_id, rows = await follow_up(service, {"apis": ["bot"], "lost_rate": 1.0, "count": 1})
    [lost] = [r for r in emulator.requests if r.get("fault") == "lost"]
    assert lost["method"] == "POST" and lost["path"].endswith(ACTIVITIES) and lost["status"] == 201
    by_person = people(service.engine)
    teams = [r for r in rows if r.channel == "teams"]
    assert teams and all(r.state == SENT for r in teams)
    for row in teams:
        assert cards(emulator, by_person[row.person_id].teams_user_id, alert_id) == 1
    chats = {f"/v3/conversations/{r.conversation_id}/activities" for r in teams}
    posts = [r for r in emulator.requests if r["method"] == "POST"
             and any(r["path"].endswith(chat) for chat in chats)
             and marker(alert_id) in str(r.get("body")).replace("'", '"')]
    assert len(posts) == len(teams)  # one post per person, the lost one included
    [(unknown_row, history)] = [(r, outcomes(service.engine, r.id)) for r in teams
                                if len(outcomes(service.engine, r.id)) > 1]
    assert [o for o, _ in history] == ["ukendt", "sendt"]
    assert "fundet i Teams-chatten" in history[-1][1]
    assert unknown_row.claimed_by is None
    assert unknown_row.provider_message_id == next(
        e["id"] for e in emulator.chats[by_person[unknown_row.person_id].teams_user_id]
        if marker(alert_id) in str(e["activity"]).replace("'", '"'))


async def test_a_mail_whose_answer_was_lost_is_found_in_sent_items_not_sent_again(service):
    """Fails on a worker that takes a reset connection for a failure: it mails everyone twice."""
    emulator = service.emulator
    alert_id, rows = await follow_up(service, {"apis": ["graph"], "lost_rate": 1.0, "count": 1})
    [lost] = [r for r in emulator.requests if r.get("fault") == "lost"]
    assert lost["path"].endswith("/sendMail") and lost["status"] == 202
    mail = [r for r in rows if r.channel == "email"]
    assert mail and all(r.state == SENT for r in mail)
    assert_one_mail_each(service, lost["subject"], mail)
    sends = [r for r in emulator.requests if r["path"].endswith("/sendMail")
             and r["ts_start"] >= lost["ts_start"]]
    assert len(sends) == 1  # the lost call, never made again
    assert {tuple(o for o, _ in outcomes(service.engine, r.id)) for r in mail} == {("ukendt", "sendt")}


async def test_a_timed_out_mail_is_read_back_too(service):
    """lost_mode timeout: the emulator holds the answer until the client's timeout gives up."""
    emulator = service.emulator
    channel = service.services.worker.channels["email"]
    channel._client.request_adapter._http_client.timeout = httpx.Timeout(1.0)
    alert_id, rows = await follow_up(service, {"apis": ["graph"], "lost_rate": 1.0, "count": 1,
                                               "lost_mode": "timeout", "lost_hold_s": 20})
    [lost] = [r for r in emulator.requests if r.get("fault") == "lost"]
    assert lost["lost_mode"] == "timeout" and lost["path"].endswith("/sendMail")
    mail = [r for r in rows if r.channel == "email"]
    assert mail and all(r.state == SENT for r in mail)
    assert_one_mail_each(service, lost["subject"], mail)
    assert {tuple(o for o, _ in outcomes(service.engine, r.id)) for r in mail} == {("ukendt", "sendt")}


async def test_a_timed_out_card_is_read_back_too(service):
    """lost_mode timeout on the Bot Connector: the client's own timeout ends the wait."""
    emulator = service.emulator
    clients = service.services.worker.channels["teams"]._clients
    clients.timeout = 1.0
    await clients.close()  # new clients with the short timeout
    alert_id, rows = await follow_up(service, {"apis": ["bot"], "lost_rate": 1.0, "count": 1,
                                               "lost_mode": "timeout", "lost_hold_s": 20})
    [lost] = [r for r in emulator.requests if r.get("fault") == "lost"]
    assert lost["lost_mode"] == "timeout" and lost["path"].endswith(ACTIVITIES)
    by_person = people(service.engine)
    teams = [r for r in rows if r.channel == "teams"]
    assert teams and all(r.state == SENT for r in teams)
    for row in teams:
        assert cards(emulator, by_person[row.person_id].teams_user_id, alert_id) == 1
    histories = Counter(tuple(o for o, _ in outcomes(service.engine, r.id)) for r in teams)
    assert histories == Counter({("sendt",): len(teams) - 1, ("ukendt", "sendt"): 1})


async def test_a_dropped_call_that_never_arrived_is_read_back_then_sent_once(service):
    """A connection dropped before Microsoft acted looks the same to the client: read back, not
    found, sent again, once."""
    emulator = service.emulator
    alert_id, rows = await follow_up(service, {"apis": ["bot"], "drop_rate": 1.0, "count": 1})
    by_person = people(service.engine)
    teams = [r for r in rows if r.channel == "teams"]
    for row in teams:
        assert cards(emulator, by_person[row.person_id].teams_user_id, alert_id) == 1
    histories = Counter(tuple(o for o, _ in outcomes(service.engine, r.id)) for r in teams)
    assert histories == Counter({("sendt",): len(teams) - 1, ("ukendt", "sendt"): 1})
    reads = [r for r in emulator.requests if r["api"] == "graph" and "/chats/" in r["path"]]
    assert reads


async def test_a_clear_error_keeps_the_ordinary_retry_without_reading_back(service):
    emulator = service.emulator
    _, rows = await follow_up(service, {"apis": ["bot"], "error_rate": 1.0, "error_status": 503,
                                        "count": 1})
    teams = [r for r in rows if r.channel == "teams"]
    histories = Counter(tuple(o for o, _ in outcomes(service.engine, r.id)) for r in teams)
    assert histories == Counter({("sendt",): len(teams) - 1, ("midlertidig", "sendt"): 1})
    assert not [r for r in emulator.requests if r["api"] == "graph" and "/chats/" in r["path"]]


async def test_unanswered_with_attempts_spent_and_not_found_fails_instead_of_sending(service):
    """The last attempt dropped before Microsoft acted: not found by the read-back, the mail is
    not sent again by Graph but fails, and goes by the second route (SMTP)."""
    emulator = service.emulator
    service.services.worker.max_attempts = 1
    alert_id, rows = await follow_up(service, {"apis": ["graph"], "drop_rate": 1.0, "count": 1})
    mail = [r for r in rows if r.channel == "email"]
    assert mail and all(r.state == FAILED for r in mail)
    assert {tuple(o for o, _ in outcomes(service.engine, r.id)) for r in mail} == {
        ("ukendt", "permanent")}
    assert "forsøgene er brugt op" in outcomes(service.engine, mail[0].id)[-1][1]
    smtp = [r for r in rows if r.channel == "smtp"]
    assert {r.person_id for r in smtp} == {r.person_id for r in mail}
    assert all(r.state == SENT for r in smtp)
    [dropped] = [r for r in emulator.requests if r.get("fault") == "drop"]
    assert not [r for r in emulator.requests if r["path"].endswith("/sendMail")
                and r["ts_start"] > dropped["ts_start"]]  # Graph was not asked again


def test_only_a_call_that_never_left_is_known_not_to_have_arrived():
    request = httpx.Request("POST", "https://graph.microsoft.com/v1.0/users/x/sendMail")
    assert not may_have_arrived(httpx.ConnectError("refused", request=request))
    assert not may_have_arrived(httpx.ConnectTimeout("slow", request=request))
    assert may_have_arrived(httpx.ReadTimeout("no answer", request=request))
    assert may_have_arrived(httpx.RemoteProtocolError("reset", request=request))
    assert may_have_arrived(TimeoutError())
