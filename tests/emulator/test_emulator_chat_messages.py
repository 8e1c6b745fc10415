"""Graph's view of the bot's personal chats in the emulator: the bot's installation for a user,
the chat between them, and its messages newest first, with the card as a JSON string, pages of
`$top`, a `$filter` on the time of the last change, and the permissions Graph asks for (403 without them)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from emulator_helpers import ANNA, CARD

EXPAND = "$expand=teamsAppDefinition($expand=bot)"


def card(n: int) -> dict:
    return {"type": "AdaptiveCard", "version": "1.5",
            "body": [{"type": "TextBlock", "id": f"varsel-{n}", "text": f"Varsel {n}"}]}


async def chat_with_cards(m365, count: int) -> str:
    """Post `count` cards in Anna's chat with the bot; the Graph id of that chat."""
    headers = await m365.bot_headers()
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]
    for n in range(count):
        response = await m365.post_activity(headers, conversation_id, {
            "type": "message", "text": f"Varsel {n}", "attachments": [{"contentType": CARD, "content": card(n)}]})
        assert response.status in (200, 201)
    graph = await m365.graph_headers()
    apps = await (await m365.client.get(f"/v1.0/users/{ANNA}/teamwork/installedApps?{EXPAND}", headers=graph)).json()
    (app,) = [a for a in apps["value"] if a["teamsAppDefinition"]["bot"]["id"] == m365.config.bot_app_id]
    chat = await m365.client.get(f"/v1.0/users/{ANNA}/teamwork/installedApps/{app['id']}/chat", headers=graph)
    assert chat.status == 200
    return (await chat.json())["id"]


async def test_the_chats_messages_come_newest_first_in_pages_with_the_card_as_json(m365):
    chat_id = await chat_with_cards(m365, 5)
    graph = await m365.graph_headers()
    response = await m365.client.get(f"/v1.0/chats/{chat_id}/messages?$top=2&$orderby=createdDateTime desc", headers=graph)
    seen = []
    while True:
        assert response.status == 200, await response.text()
        body = await response.json()
        assert len(body["value"]) <= 2
        seen += body["value"]
        if "@odata.nextLink" not in body:
            break
        link = urlsplit(body["@odata.nextLink"])
        response = await m365.client.get(f"{link.path}?{link.query}", headers=graph)
    assert [json.loads(m["attachments"][0]["content"])["body"][0]["id"] for m in seen] == [
        f"varsel-{n}" for n in (4, 3, 2, 1, 0)]
    first = seen[0]
    assert first["from"]["application"]["id"] == m365.config.bot_app_id
    assert first["body"]["content"].endswith(f'<attachment id="{first["attachments"][0]["id"]}"></attachment>')


async def test_a_time_filter_keeps_only_later_messages(m365):
    # Graph filters chat messages by lastModifiedDateTime gt/lt, with $orderby on the same property.
    chat_id = await chat_with_cards(m365, 2)
    graph = await m365.graph_headers()
    since = "$orderby=lastModifiedDateTime desc&$filter=lastModifiedDateTime gt"
    later = await m365.client.get(f"/v1.0/chats/{chat_id}/messages?{since} 2999-01-01T00:00:00Z", headers=graph)
    assert (await later.json())["value"] == []
    earlier = await m365.client.get(f"/v1.0/chats/{chat_id}/messages?{since} 2000-01-01T00:00:00Z", headers=graph)
    assert len((await earlier.json())["value"]) == 2
    wrong = await m365.client.get(f"/v1.0/chats/{chat_id}/messages?$filter=subject eq 'x'", headers=graph)
    assert wrong.status == 400
    too_many = await m365.client.get(f"/v1.0/chats/{chat_id}/messages?$top=51", headers=graph)
    assert too_many.status == 400


async def test_without_the_permissions_graph_refuses(make_emulator):
    m365 = await make_emulator(graph_permissions=["Mail.Send", "TeamsAppInstallation.ReadForUser.All"])
    chat_id = await chat_with_cards(m365, 1)  # the installation may be read
    graph = await m365.graph_headers()
    refused = await m365.client.get(f"/v1.0/chats/{chat_id}/messages", headers=graph)
    assert refused.status == 403
    assert "Chat.Read.All" in (await refused.json())["error"]["message"]
    m365.config.graph_permissions = ["Mail.Send"]
    graph = await m365.graph_headers()  # a new token with the new roles
    assert (await m365.client.get(f"/v1.0/users/{ANNA}/teamwork/installedApps", headers=graph)).status == 403


async def test_a_user_without_the_bot_has_no_installation_and_no_chat(m365):
    graph = await m365.graph_headers()
    apps = await m365.client.get(f"/v1.0/users/{ANNA}/teamwork/installedApps?{EXPAND}", headers=graph)
    assert apps.status == 200 and (await apps.json())["value"] == []
    unknown = await m365.client.get(f"/v1.0/chats/19:{ANNA}_{m365.config.bot_app_id}@unq.gbl.spaces/messages", headers=graph)
    assert unknown.status == 404
