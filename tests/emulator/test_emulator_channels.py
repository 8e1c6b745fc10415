"""Teams channels through the Bot Connector: threads, replies, updates, limits, pages."""

from __future__ import annotations

from urllib.parse import quote

from emulator_helpers import CARD

CHANNEL = "19:beredskab0123456789abcdef@thread.tacv2"
OTHER = "19:andenkanal9876543210@thread.tacv2"


def card(text: str) -> dict:
    return {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": text}]}


def card_activity(text: str) -> dict:
    return {"type": "message", "text": text, "attachments": [{"contentType": CARD, "content": card(text)}]}


def channel_parameters(m365, channel_id=CHANNEL, text="Alarm") -> dict:
    tenant = m365.config.tenant_id
    return {
        "isGroup": True,
        "bot": {"id": f"28:{m365.config.bot_app_id}"},
        "channelData": {"channel": {"id": channel_id}, "tenant": {"id": tenant}},
        "tenantId": tenant,
        "activity": card_activity(text),
    }


async def start_thread(m365, headers, **changes):
    params = {**channel_parameters(m365), **changes}
    return await m365.client.post("/connector/v3/conversations", json=params, headers=headers)


async def test_thread_reply_update_delete(m365):
    headers = await m365.bot_headers()
    response = await start_thread(m365, headers)
    assert response.status == 201
    created = await response.json()
    root_id = created["activityId"]
    conversation_id = created["id"]
    assert conversation_id == f"{CHANNEL};messageid={root_id}"

    response = await m365.post_activity(headers, conversation_id, card_activity("Opdatering"))
    assert response.status == 201
    reply_id = (await response.json())["id"]

    response = await m365.client.put(
        f"/connector/v3/conversations/{conversation_id}/activities/{root_id}",
        json=card_activity("Afblæst"),
        headers=headers,
    )
    assert response.status == 200 and await response.json() == {"id": root_id}

    response = await m365.client.delete(
        f"/connector/v3/conversations/{conversation_id}/activities/{reply_id}", headers=headers
    )
    assert response.status == 200

    [thread] = m365.emulator.channels[CHANNEL]
    assert thread["id"] == root_id and thread["conversation_id"] == conversation_id
    assert thread["version"] == 2
    assert thread["activity"]["attachments"][0]["content"] == card("Afblæst")
    assert thread["history"][0]["attachments"][0]["content"] == card("Alarm")
    [reply] = thread["replies"]
    assert reply["id"] == reply_id and reply["reply_to_id"] == root_id and reply["deleted"] is True
    assert m365.emulator.chats == {} and m365.emulator.conversations == {}

    records = m365.emulator.log.select("bot")
    assert [r["status"] for r in records] == [201, 201, 200, 200]
    assert all(r["channel_id"] == CHANNEL for r in records)


async def test_each_post_starts_its_own_thread(m365):
    headers = await m365.bot_headers()
    first = await (await start_thread(m365, headers)).json()
    second = await (await start_thread(m365, headers)).json()
    assert first["id"] != second["id"]
    assert [t["id"] for t in m365.emulator.channels[CHANNEL]] == [first["activityId"], second["activityId"]]


async def test_unknown_thread_and_activity_are_404(m365):
    headers = await m365.bot_headers()
    response = await m365.post_activity(headers, f"{CHANNEL};messageid=1")
    assert response.status == 404 and (await response.json())["error"]["code"] == "ConversationNotFound"
    conversation_id = (await (await start_thread(m365, headers)).json())["id"]
    response = await m365.client.put(
        f"/connector/v3/conversations/{conversation_id}/activities/999", json=card_activity("x"), headers=headers
    )
    assert response.status == 404 and (await response.json())["error"]["code"] == "ActivityNotFound"


async def test_channel_parameters_are_checked(m365):
    headers = await m365.bot_headers()
    assert (await start_thread(m365, headers, activity=None)).status == 400
    assert (await start_thread(m365, headers, channelData={"channel": {"id": "not-a-channel"}})).status == 400
    other_tenant = {"channel": {"id": CHANNEL}, "tenant": {"id": "other"}}
    assert (await start_thread(m365, headers, tenantId=None, channelData=other_tenant)).status == 403
    assert (await start_thread(m365, headers, activity={"type": "message"})).status == 400
    assert m365.emulator.channels == {}


async def test_configured_channels_refuse_others(make_emulator):
    m365 = await make_emulator(channels=[{"id": CHANNEL, "name": "Beredskab"}])
    headers = await m365.bot_headers()
    response = await start_thread(m365, headers, channelData={"channel": {"id": OTHER}})
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "ChannelNotFound"
    assert (await start_thread(m365, headers)).status == 201
    assert (await m365.client.get(f"/_emulator/channels/{quote(OTHER, safe='')}")).status == 404
    listing = await (await m365.client.get("/_emulator/channels")).json()
    assert listing == {CHANNEL: {"name": "Beredskab", "threads": 1}}


async def test_threads_share_the_channels_limit(m365):
    headers = await m365.bot_headers()
    conversation_id = (await (await start_thread(m365, headers)).json())["id"]
    for _ in range(6):
        assert (await m365.post_activity(headers, conversation_id)).status == 201
    # The 8th request in one second to the channel (a new thread counts too) is throttled.
    response = await start_thread(m365, headers)
    assert response.status == 429 and response.headers["Retry-After"] == "1"
    response = await m365.post_activity(headers, conversation_id)
    assert response.status == 429
    # Another channel is another conversation.
    other = channel_parameters(m365, OTHER)
    assert (await m365.client.post("/connector/v3/conversations", json=other, headers=headers)).status == 201
    m365.clock.advance(2)
    assert (await m365.post_activity(headers, conversation_id)).status == 201


async def test_channel_json_page_and_overview(make_emulator):
    m365 = await make_emulator(channels=[{"id": CHANNEL, "name": "Beredskab KK"}])
    headers = await m365.bot_headers()
    conversation_id = (await (await start_thread(m365, headers)).json())["id"]
    await m365.post_activity(headers, conversation_id, card_activity("Status: **grøn**"))

    data = await (await m365.client.get(f"/_emulator/channels/{quote(CHANNEL, safe='')}")).json()
    assert data["id"] == CHANNEL and data["name"] == "Beredskab KK"
    [thread] = data["threads"]
    assert thread["conversation_id"] == conversation_id and len(thread["replies"]) == 1

    overview = await (await m365.client.get("/")).text()
    assert f'href="/kanal/{quote(CHANNEL, safe="")}"' in overview and "Beredskab KK" in overview

    response = await m365.client.get(f"/kanal/{quote(CHANNEL, safe='')}")
    assert response.status == 200
    page = await response.text()
    assert "Beredskab KK" in page and "Alarm" in page and "<strong>grøn</strong>" in page and "1 svar" in page


async def test_reset_forgets_channels(m365):
    headers = await m365.bot_headers()
    conversation_id = (await (await start_thread(m365, headers)).json())["id"]
    await m365.client.post("/_emulator/reset")
    assert m365.emulator.channels == {}
    assert (await m365.post_activity(headers, conversation_id)).status == 404


async def test_group_chats_without_a_channel_are_still_refused(m365):
    params = channel_parameters(m365)
    del params["channelData"]["channel"]
    params["members"] = [{"id": "29:someone"}]
    response = await m365.client.post("/connector/v3/conversations", json=params, headers=await m365.bot_headers())
    assert response.status == 400
