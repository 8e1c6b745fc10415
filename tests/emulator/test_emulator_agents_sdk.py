"""The Microsoft 365 Agents SDK's own connector client against the emulator."""

from __future__ import annotations

import pytest

from emulator_helpers import ANNA, CARD

activity_module = pytest.importorskip("microsoft_agents.activity")
connector_module = pytest.importorskip("microsoft_agents.hosting.core.connector.client.connector_client")


async def test_agents_sdk_connector_client_creates_posts_updates_and_deletes(m365):
    Activity = activity_module.Activity
    Attachment = activity_module.Attachment
    ChannelAccount = activity_module.ChannelAccount
    ConversationParameters = activity_module.ConversationParameters

    token = (await m365.bot_headers())["Authorization"].removeprefix("Bearer ")
    client = connector_module.ConnectorClient(m365.emulator.service_url, token)
    try:
        conversation = await client.conversations.create_conversation(
            ConversationParameters(
                is_group=False,
                bot=ChannelAccount(id=f"28:{m365.config.bot_app_id}"),
                members=[ChannelAccount(id=f"29:{ANNA}")],
                tenant_id=m365.config.tenant_id,
                channel_data={"tenant": {"id": m365.config.tenant_id}},
            )
        )
        card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "ØVELSE"}]}
        sent = await client.conversations.send_to_conversation(
            conversation.id,
            Activity(type="message", attachments=[Attachment(content_type=CARD, content=card)]),
        )
        updated_card = dict(card, body=[{"type": "TextBlock", "text": "Kvitteret"}])
        await client.conversations.update_activity(
            conversation.id,
            sent.id,
            Activity(type="message", id=sent.id, attachments=[Attachment(content_type=CARD, content=updated_card)]),
        )
        reply = await client.conversations.reply_to_activity(
            conversation.id, sent.id, Activity(type="message", text="Tak")
        )
        await client.conversations.delete_activity(conversation.id, reply.id)
    finally:
        await client.close()

    entries = m365.emulator.chats[ANNA]
    assert entries[0]["activity"]["attachments"][0]["content"] == updated_card
    assert entries[1]["deleted"] is True
    assert [r["status"] for r in m365.emulator.log.select("bot")] == [201, 201, 200, 201, 200]
