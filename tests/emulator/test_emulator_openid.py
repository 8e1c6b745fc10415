"""Bot Framework OpenID metadata and keys; signed activities posted to a bot."""

from __future__ import annotations

import asyncio

import jwt
import pytest

from emulator_helpers import ANNA


async def test_bot_framework_openid_metadata_and_keys(m365):
    response = await m365.client.get("/botframework/v1/.well-known/openidconfiguration")
    metadata = await response.json()
    base = m365.emulator.base_url
    assert metadata["issuer"] == "https://api.botframework.com"
    assert metadata["jwks_uri"] == f"{base}/botframework/v1/.well-known/keys"
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert metadata["authorization_endpoint"]

    keys = (await (await m365.client.get("/botframework/v1/.well-known/keys")).json())["keys"]
    teams, webchat = keys
    assert teams["kty"] == "RSA" and teams["use"] == "sig" and teams["endorsements"] == ["msteams"]
    assert teams["kid"] == m365.emulator.bot_key.kid and teams["n"] and teams["e"] == "AQAB"
    assert webchat["kid"] == m365.emulator.webchat_key.kid != teams["kid"]
    assert "msteams" not in webchat["endorsements"]


async def test_pyjwkclient_verifies_a_signed_activity_token_and_refuses_a_rogue_one(m365):
    jwks_uri = f"{m365.emulator.base_url}/botframework/v1/.well-known/keys"
    token = m365.emulator.signed_activity_token()
    rogue = m365.emulator.signed_activity_token(key=m365.emulator.rogue_key())

    def verify(value):
        key = jwt.PyJWKClient(jwks_uri).get_signing_key_from_jwt(value)
        return jwt.decode(
            value, key.key, algorithms=["RS256"], audience=m365.config.bot_app_id, issuer="https://api.botframework.com"
        )

    claims = await asyncio.to_thread(verify, token)
    assert claims["serviceurl"] == m365.emulator.service_url
    with pytest.raises(jwt.PyJWKClientError):
        await asyncio.to_thread(verify, rogue)


async def test_send_to_bot_posts_a_signed_activity_and_records_it(bot_and_emulator):
    bot, m365 = bot_and_emulator
    status, _ = await m365.emulator.send_to_bot(ANNA, text="Hej bot")
    assert status == 200
    assert bot.rejections == []
    [activity] = bot.received
    assert activity["type"] == "message" and activity["text"] == "Hej bot"
    assert activity["from"]["aadObjectId"] == ANNA and activity["from"]["name"] == "Anna Andersen"
    assert activity["serviceUrl"] == m365.emulator.service_url
    assert activity["conversation"]["id"] == m365.emulator.personal_conversation(ANNA)["id"]
    assert activity["channelData"]["tenant"]["id"] == m365.config.tenant_id
    [record] = m365.emulator.log.select("to_bot")
    assert record["status"] == 200 and record["body"]["text"] == "Hej bot"
    assert record["ts_start"] <= record["ts_end"]


async def test_invoke_answered_with_a_card_replaces_the_card(bot_and_emulator):
    bot, m365 = bot_and_emulator
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]
    original = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "Før"}]}
    activity_id = m365.emulator.post_activity(
        conversation_id,
        {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": original}]},
    )
    bot.invoke_card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "Efter"}]}
    status, body = await m365.emulator.send_to_bot(
        ANNA,
        invoke_value={"action": {"type": "Action.Execute", "verb": "ack", "data": {"id": 7}}},
        reply_to_id=activity_id,
    )
    assert status == 200 and body["value"] == bot.invoke_card
    [invoke] = bot.received
    assert invoke["name"] == "adaptiveCard/action"
    assert invoke["value"]["action"] == {"type": "Action.Execute", "verb": "ack", "data": {"id": 7}}
    assert invoke["replyToId"] == activity_id
    entry = m365.emulator.chats[ANNA][0]
    assert entry["activity"]["attachments"][0]["content"] == bot.invoke_card
    assert entry["version"] == 2


async def test_send_to_bot_without_an_endpoint_says_so(m365):
    with pytest.raises(RuntimeError, match="bot_endpoint"):
        await m365.emulator.send_to_bot(ANNA, text="Hej")
    response = await m365.client.post(f"/_emulator/chats/{ANNA}/messages", json={"text": "Hej"})
    assert response.status == 409


async def test_ops_endpoints_act_as_the_user(bot_and_emulator):
    bot, m365 = bot_and_emulator
    response = await m365.client.post(f"/_emulator/chats/{ANNA}/install")
    assert (await response.json())["status"] == 200
    response = await m365.client.post(
        f"/_emulator/chats/{ANNA}/invoke", json={"verb": "ack", "data": {"x": 1}, "activity_id": "1"}
    )
    assert (await response.json())["body"]["value"] == "Tak!"
    assert [a["type"] for a in bot.received] == ["conversationUpdate", "invoke"]
