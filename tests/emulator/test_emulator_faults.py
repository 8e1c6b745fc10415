"""Injected faults: error statuses, throttling, dropped connections, answers lost after the
request took effect, latency; count and time bounds."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from m365emulator.faults import Faults


async def set_faults(m365, **faults):
    response = await m365.client.post("/_emulator/faults", json=faults)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_503_for_the_next_two_graph_requests(m365):
    headers = await m365.graph_headers()
    await set_faults(m365, apis=["graph"], error_rate=1.0, error_status=503, count=2)
    for _ in range(2):
        response = await m365.send_mail(headers, to=["anna@kk.example"])
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "ServiceUnavailable"
    assert (await m365.send_mail(headers, to=["anna@kk.example"])).status == 202
    faults = [r["fault"] for r in m365.emulator.log.select("graph")]
    assert faults == ["error", "error", None]
    assert len(m365.emulator.mailboxes["anna@kk.example"]) == 1


async def test_faults_leave_other_apis_alone(m365):
    await set_faults(m365, apis=["bot"], error_rate=1.0)
    headers = await m365.graph_headers()  # the token endpoint works
    assert (await m365.send_mail(headers, to=["anna@kk.example"])).status == 202
    conversation_id = m365.emulator.personal_conversation("u")["id"]
    assert (await m365.post_activity(await m365.bot_headers(), conversation_id)).status == 503


async def test_token_faults_in_entra_shape(m365):
    await set_faults(m365, apis=["token"], error_rate=1.0, error_status=[500])
    response = await m365.client.post(f"/{m365.config.tenant_id}/oauth2/v2.0/token", data={})
    assert response.status == 500
    assert (await response.json())["error"] == "temporarily_unavailable"


async def test_dropped_connection(m365):
    headers = await m365.graph_headers()
    await set_faults(m365, apis=["graph"], drop_rate=1.0, count=1)
    with pytest.raises(aiohttp.ClientError):
        await m365.send_mail(headers, to=["anna@kk.example"])
    [record] = m365.emulator.log.select("graph")
    assert record["fault"] == "drop" and record["status"] is None
    assert m365.emulator.mailboxes == {}
    # The emulator serves the next request as usual.
    assert (await m365.send_mail(headers, to=["anna@kk.example"])).status == 202


async def test_a_lost_answer_comes_after_the_mail_went_out(m365):
    """lost_rate: sendMail takes effect (the mail is in the mailbox and in Sent Items), then the
    connection is closed without an answer; the record keeps what happened."""
    headers = await m365.graph_headers()
    await set_faults(m365, apis=["graph"], lost_rate=1.0, count=1)
    with pytest.raises(aiohttp.ClientError):
        await m365.send_mail(headers, to=["anna@kk.example"], subject="Tabt svar")
    [record] = [r for r in m365.emulator.log.select("graph") if r["path"].endswith("/sendMail")]
    assert record["fault"] == "lost" and record["lost_mode"] == "reset" and record["status"] == 202
    assert [m["subject"] for m in m365.emulator.mailboxes["anna@kk.example"]] == ["Tabt svar"]
    assert [m["subject"] for m in m365.emulator.sent_items["ssp@kk.example"]] == ["Tabt svar"]


async def test_a_lost_answer_comes_after_the_card_was_posted(m365):
    headers = await m365.bot_headers()
    conversation_id = m365.emulator.personal_conversation("u")["id"]
    await set_faults(m365, apis=["bot"], lost_rate=1.0, count=1)
    with pytest.raises(aiohttp.ClientError):
        await m365.post_activity(headers, conversation_id)
    assert m365.emulator.log.select("bot")[-1]["fault"] == "lost"
    assert len(m365.emulator.chats["u"]) == 1  # the card is in the chat
    assert (await m365.post_activity(headers, conversation_id)).status == 201


async def test_a_lost_answer_can_be_a_timeout_held_until_the_client_gives_up(m365):
    headers = await m365.graph_headers()
    await set_faults(m365, apis=["graph"], lost_rate=1.0, lost_mode="timeout", lost_hold_s=30,
                     count=1)
    mail = {"message": {"subject": "Tabt svar", "body": {"contentType": "Text", "content": "Hej"},
                        "toRecipients": [{"emailAddress": {"address": "anna@kk.example"}}]}}
    with pytest.raises(asyncio.TimeoutError):
        await m365.client.post("/v1.0/users/ssp@kk.example/sendMail", json=mail, headers=headers,
                               timeout=aiohttp.ClientTimeout(total=0.5))
    record = m365.emulator.log.select("graph")[-1]
    assert record["fault"] == "lost" and record["lost_mode"] == "timeout"
    assert len(m365.emulator.mailboxes["anna@kk.example"]) == 1


async def test_reads_and_tokens_are_not_lost(m365):
    """A lost answer only makes sense where the request changed something: a read that draws it
    is answered as usual."""
    headers = await m365.graph_headers()
    await set_faults(m365, apis=["graph", "token"], lost_rate=1.0)
    assert await m365.graph_headers()  # the token endpoint answers
    response = await m365.client.get("/v1.0/users/ssp@kk.example/mailFolders/sentitems/messages",
                                     headers=headers)
    assert response.status == 200, await response.text()
    assert not any(r.get("fault") for r in m365.emulator.log.select("graph"))


async def test_injected_throttling_carries_retry_after(m365):
    headers = await m365.bot_headers()
    await set_faults(m365, throttle_rate=1.0, retry_after=7)
    conversation_id = m365.emulator.personal_conversation("u")["id"]
    response = await m365.post_activity(headers, conversation_id)
    assert response.status == 429 and response.headers["Retry-After"] == "7"
    assert m365.emulator.log.select("bot")[-1]["retry_after"] == 7


async def test_latency(m365):
    headers = await m365.graph_headers()
    await set_faults(m365, apis=["graph"], latency_ms=[150, 150])
    started = time.monotonic()
    assert (await m365.send_mail(headers, to=["anna@kk.example"])).status == 202
    assert time.monotonic() - started >= 0.15
    record = m365.emulator.log.select("graph")[-1]
    assert record["ts_end"] - record["ts_start"] >= 0.15


async def test_rates_are_shares_and_seed_makes_them_reproducible(make_emulator):
    outcomes = []
    for _ in range(2):
        m365 = await make_emulator(limits=False)
        headers = await m365.graph_headers()
        await set_faults(m365, apis=["graph"], error_rate=0.5, seed=42)
        statuses = [(await m365.send_mail(headers, to=["a@kk.example"])).status for _ in range(40)]
        outcomes.append(statuses)
        assert 5 < statuses.count(503) < 35
    assert outcomes[0] == outcomes[1]


async def test_get_replace_and_clear_faults(m365):
    assert await (await m365.client.get("/_emulator/faults")).json() is None
    await set_faults(m365, error_rate=0.1)
    response = await m365.client.put("/_emulator/faults", json={"drop_rate": 0.2, "duration_s": 60})
    current = await response.json()
    assert current["drop_rate"] == 0.2 and current["error_rate"] == 0.0 and current["until"] > time.time()
    assert (await (await m365.client.get("/_emulator/faults")).json())["drop_rate"] == 0.2
    await m365.client.delete("/_emulator/faults")
    assert m365.emulator.faults is None


async def test_faults_past_their_end_do_not_apply(m365):
    headers = await m365.graph_headers()
    await set_faults(m365, apis=["graph"], error_rate=1.0, until=time.time() - 1)
    assert (await m365.send_mail(headers, to=["anna@kk.example"])).status == 202
    assert m365.emulator.faults is None


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"nonsense": 1},
        {"error_rate": 2},
        {"error_rate": 0.7, "drop_rate": 0.7},
        {"error_status": 200},
        {"latency_ms": [5, 1]},
        {"apis": ["mail"]},
        {"count": 0},
        {"until": 1, "duration_s": 1},
        {"lost_rate": 0.6, "error_rate": 0.5},
        {"lost_rate": -0.1},
        {"lost_mode": "slow"},
        {"lost_hold_s": -1},
    ],
)
async def test_bad_fault_specs_are_refused(m365, body):
    response = await m365.client.post("/_emulator/faults", json=body)
    assert response.status == 400
    assert "error" in await response.json()


def test_faults_from_json_round_trip():
    faults = Faults.from_json({"apis": ["token"], "error_rate": 0.5, "error_status": [500, 503], "count": 3})
    assert faults.to_json()["error_status"] == [500, 503]
    assert faults.used_once().used_once().used_once().expired()
