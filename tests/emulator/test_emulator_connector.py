"""The Bot Connector: conversations, activities, updates, tokens, card checks."""

from __future__ import annotations

from emulator_helpers import ANNA, BOT_SCOPE, CARD, GRAPH_SCOPE


def card(*body, version="1.5"):
    return {"type": "AdaptiveCard", "version": version, "body": list(body)}


def card_activity(content) -> dict:
    return {"type": "message", "attachments": [{"contentType": CARD, "content": content}]}


def conversation_parameters(m365, user_id=ANNA) -> dict:
    tenant = m365.config.tenant_id
    return {
        "isGroup": False,
        "bot": {"id": f"28:{m365.config.bot_app_id}"},
        "members": [{"id": f"29:{user_id}"}],
        "tenantId": tenant,
        "channelData": {"tenant": {"id": tenant}},
    }


async def test_create_post_reply_update_delete(m365):
    headers = await m365.bot_headers()
    response = await m365.client.post("/connector/v3/conversations", json=conversation_parameters(m365), headers=headers)
    assert response.status == 201
    conversation_id = (await response.json())["id"]
    assert conversation_id == m365.emulator.personal_conversation(ANNA)["id"]

    first = card({"type": "TextBlock", "text": "ØVELSE"})
    response = await m365.post_activity(headers, conversation_id, card_activity(first))
    assert response.status == 201
    activity_id = (await response.json())["id"]

    response = await m365.client.post(
        f"/connector/v3/conversations/{conversation_id}/activities/{activity_id}",
        json={"type": "message", "text": "Svar"},
        headers=headers,
    )
    assert response.status == 201
    reply_id = (await response.json())["id"]

    second = card({"type": "TextBlock", "text": "Kvitteret"})
    response = await m365.client.put(
        f"/connector/v3/conversations/{conversation_id}/activities/{activity_id}",
        json=card_activity(second),
        headers=headers,
    )
    assert response.status == 200
    assert await response.json() == {"id": activity_id}

    response = await m365.client.delete(
        f"/connector/v3/conversations/{conversation_id}/activities/{reply_id}", headers=headers
    )
    assert response.status == 200

    entries = m365.emulator.chats[ANNA]
    assert [e["id"] for e in entries] == [activity_id, reply_id]
    assert entries[0]["version"] == 2
    assert entries[0]["activity"]["attachments"][0]["content"] == second
    assert entries[0]["history"][0]["attachments"][0]["content"] == first
    assert entries[1]["reply_to_id"] == activity_id and entries[1]["deleted"] is True

    chat = await (await m365.client.get(f"/_emulator/chats/{ANNA}")).json()
    assert chat["conversation_id"] == conversation_id and chat["name"] == "Anna Andersen"
    assert len(chat["activities"]) == 2


async def test_create_with_aad_object_id_and_initial_activity(m365):
    params = conversation_parameters(m365)
    params["members"] = [{"id": "ignored", "aadObjectId": ANNA}]
    params["activity"] = {"type": "message", "text": "Hej Anna"}
    response = await m365.client.post("/connector/v3/conversations", json=params, headers=await m365.bot_headers())
    assert response.status == 201
    body = await response.json()
    assert body["activityId"] == m365.emulator.chats[ANNA][0]["id"]


async def test_conversation_parameters_are_checked(m365):
    headers = await m365.bot_headers()

    async def create(**changes):
        params = {**conversation_parameters(m365), **changes}
        response = await m365.client.post("/connector/v3/conversations", json=params, headers=headers)
        return response.status

    assert await create(isGroup=True) == 400
    assert await create(members=[]) == 400
    assert await create(tenantId=None, channelData={}) == 400
    assert await create(tenantId="other-tenant", channelData={}) == 403
    assert m365.emulator.conversations == {}


async def test_unknown_conversation_is_404(m365):
    response = await m365.post_activity(await m365.bot_headers(), "a:unknown")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "ConversationNotFound"


async def test_tokens_must_be_for_the_connector_and_the_bot(make_emulator):
    m365 = await make_emulator(graph_client_id="33333333-3333-3333-3333-333333333333", graph_client_secret="g")
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]
    assert (await m365.post_activity({}, conversation_id)).status == 401
    graph_token = await m365.token(GRAPH_SCOPE)
    response = await m365.post_activity({"Authorization": f"Bearer {graph_token}"}, conversation_id)
    assert response.status == 401
    # A connector token issued to another app (the Graph client) is not the bot's.
    response = await m365.client.post(
        f"/{m365.config.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "33333333-3333-3333-3333-333333333333",
            "client_secret": "g",
            "scope": BOT_SCOPE,
        },
    )
    other = (await response.json())["access_token"]
    assert (await m365.post_activity({"Authorization": f"Bearer {other}"}, conversation_id)).status == 401
    assert (await m365.post_activity(await m365.bot_headers(), conversation_id)).status == 201


async def test_adaptive_cards_are_checked_lightly(m365):
    headers = await m365.bot_headers()
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]

    async def post(activity):
        m365.clock.advance(2)  # stay inside the per-conversation limits
        response = await m365.post_activity(headers, conversation_id, activity)
        return response.status, (await response.json())

    status, body = await post(card_activity('{"type": "AdaptiveCard"}'))
    assert status == 400 and body["error"]["code"] == "BadArgument"
    assert (await post(card_activity({"type": "HeroCard"})))[0] == 400
    assert (await post(card_activity(card(version="1.6"))))[0] == 400
    assert (await post({"type": "message"}))[0] == 400
    big = card(*({"type": "TextBlock", "text": "x" * 1000} for _ in range(30)))
    status, body = await post(card_activity(big))
    assert status == 413 and body["error"]["code"] == "MessageSizeTooBig"
    assert (await post(card_activity(card({"type": "TextBlock", "text": "ok"}))))[0] == 201
    assert len(m365.emulator.chats[ANNA]) == 1


async def test_update_of_unknown_activity_is_404(m365):
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]
    response = await m365.client.put(
        f"/connector/v3/conversations/{conversation_id}/activities/123",
        json={"type": "message", "text": "x"},
        headers=await m365.bot_headers(),
    )
    assert response.status == 404


async def test_members_of_a_conversation(m365):
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]
    response = await m365.client.get(
        f"/connector/v3/conversations/{conversation_id}/members", headers=await m365.bot_headers()
    )
    [member] = await response.json()
    assert member["aadObjectId"] == ANNA and member["email"] == "anna@kk.example"
