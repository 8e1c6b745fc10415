"""Microsoft's limits: 429 with Retry-After, measured on the injectable clock."""

from __future__ import annotations

import asyncio

import pytest

from m365emulator.limits import RateLimiter, SlidingWindow, retry_after_seconds
from m365emulator.quotas import MicrosoftQuotas


async def test_31st_message_in_a_minute_gets_429_with_retry_after(m365):
    headers = await m365.graph_headers()
    for i in range(30):
        response = await m365.send_mail(headers, to=["anna@kk.example"], subject=f"nr {i}")
        assert response.status == 202
        m365.clock.advance(1)
    response = await m365.send_mail(headers, to=["anna@kk.example"])
    assert response.status == 429
    assert response.headers["Retry-After"] == "30"  # the first message was sent 30 s ago
    assert (await response.json())["error"]["code"] == "ApplicationThrottled"
    assert len(m365.emulator.mailboxes["anna@kk.example"]) == 30
    record = m365.emulator.log.select("graph")[-1]
    assert record["status"] == 429 and record["retry_after"] == 30

    m365.clock.advance(30)
    response = await m365.send_mail(headers, to=["anna@kk.example"])
    assert response.status == 202


async def test_messages_are_counted_per_mailbox(m365):
    headers = await m365.graph_headers()
    for _ in range(30):
        assert (await m365.send_mail(headers, to=["anna@kk.example"], sender="a@kk.example")).status == 202
    assert (await m365.send_mail(headers, to=["anna@kk.example"], sender="a@kk.example")).status == 429
    assert (await m365.send_mail(headers, to=["anna@kk.example"], sender="b@kk.example")).status == 202


async def test_10000_recipients_a_day_per_mailbox(m365):
    headers = await m365.graph_headers()
    bcc = [f"p{i}@kk.example" for i in range(500)]
    for _ in range(20):
        assert (await m365.send_mail(headers, bcc=bcc)).status == 202
        m365.clock.advance(3)
    response = await m365.send_mail(headers, to=["anna@kk.example"])
    assert response.status == 429
    assert int(response.headers["Retry-After"]) == 24 * 3600 - 60


async def test_4_concurrent_requests_per_mailbox(make_emulator):
    m365 = await make_emulator(latency_ms=(300, 300))
    headers = await m365.graph_headers()
    responses = await asyncio.gather(*(m365.send_mail(headers, to=["anna@kk.example"]) for _ in range(5)))
    statuses = sorted(r.status for r in responses)
    assert statuses == [202, 202, 202, 202, 429]
    refused = next(r for r in responses if r.status == 429)
    assert "MailboxConcurrency" in (await refused.json())["error"]["message"]
    assert refused.headers["Retry-After"] == "1"
    # The slots are given back.
    assert (await m365.send_mail(headers, to=["anna@kk.example"])).status == 202


async def test_8th_connector_request_in_a_second_in_a_conversation_gets_429(m365):
    headers = await m365.bot_headers()
    conversation = m365.emulator.personal_conversation("user-1")["id"]
    for _ in range(7):
        assert (await m365.post_activity(headers, conversation)).status == 201
    response = await m365.post_activity(headers, conversation)
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    record = m365.emulator.log.select("bot")[-1]
    assert record["conversation_id"] == conversation and record["retry_after"] == 1

    # Another conversation is not affected.
    other = m365.emulator.personal_conversation("user-2")["id"]
    assert (await m365.post_activity(headers, other)).status == 201

    # One second on: the 8-per-2-seconds window allows one more, then refuses.
    m365.clock.advance(1)
    assert (await m365.post_activity(headers, conversation)).status == 201
    assert (await m365.post_activity(headers, conversation)).status == 429


async def test_60_per_30_seconds_per_conversation(m365):
    headers = await m365.bot_headers()
    conversation = m365.emulator.personal_conversation("user-1")["id"]
    for batch in range(15):  # 4 every 2 seconds, at 0, 2, ..., 28 s
        if batch:
            m365.clock.advance(2)
        for _ in range(4):
            assert (await m365.post_activity(headers, conversation)).status == 201
    response = await m365.post_activity(headers, conversation)
    assert response.status == 429
    assert response.headers["Retry-After"] == "2"  # the first 4 leave the window at 30 s
    m365.clock.advance(2)
    assert (await m365.post_activity(headers, conversation)).status == 201


async def test_50_requests_a_second_per_app(m365):
    headers = await m365.bot_headers()
    conversations = [m365.emulator.personal_conversation(f"user-{i}")["id"] for i in range(8)]
    statuses = []
    for conversation in conversations:
        for _ in range(7):
            statuses.append((await m365.post_activity(headers, conversation)).status)
    assert statuses[:50] == [201] * 50
    assert set(statuses[50:]) == {429}


async def test_no_limits_when_disabled(make_emulator):
    m365 = await make_emulator(limits=False)
    headers = await m365.graph_headers()
    for _ in range(40):
        assert (await m365.send_mail(headers, to=["anna@kk.example"])).status == 202
    bot_headers = await m365.bot_headers()
    conversation = m365.emulator.personal_conversation("user-1")["id"]
    for _ in range(20):
        assert (await m365.post_activity(bot_headers, conversation)).status == 201


def test_graph_request_limits_per_mailbox_and_per_app(clock):
    quotas = MicrosoftQuotas(clock=clock)
    for _ in range(10_000):
        assert quotas.acquire(quotas.graph_request_uses("app", "a@kk.example")) == 0.0
    assert quotas.acquire(quotas.graph_request_uses("app", "a@kk.example")) == pytest.approx(600)
    assert quotas.acquire(quotas.graph_request_uses("app", "b@kk.example")) == 0.0
    # A refused request counts nothing.
    assert quotas.graph_app.wait_time("app", 130_000 - 10_001) == 0.0


def test_sliding_window_wait_and_all_or_nothing(clock):
    window = SlidingWindow(3, 10)
    for offset in (0, 1, 2):
        window.record(offset)
    assert window.wait_time(2) == pytest.approx(8)
    assert window.wait_time(10) == 0.0
    assert window.wait_time(0, weight=4) == float("inf")
    limiter = RateLimiter([(2, 1), (3, 10)], clock)
    assert limiter.try_acquire("k") == 0.0
    assert limiter.try_acquire("k") == 0.0
    assert limiter.try_acquire("k") == pytest.approx(1)
    clock.advance(1)
    assert limiter.try_acquire("k") == 0.0
    assert limiter.try_acquire("k") == pytest.approx(9)
    assert retry_after_seconds(0.2) == 1 and retry_after_seconds(float("inf")) == 3600
