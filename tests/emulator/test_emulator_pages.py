"""The pages: overview, mailbox, chat with a rendered card, and the chat's forms."""

from __future__ import annotations

import re
from html import unescape

from emulator_helpers import ANNA, CARD

ALERT_CARD = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "ØVELSE", "weight": "Bolder", "color": "Attention"},
        {"type": "TextBlock", "text": "Skyderi ved **Nørrebro st.**"},
        {"type": "FactSet", "facts": [{"title": "Sted", "value": "Nørrebro"}, {"title": "Niveau", "value": "Rød"}]},
        {"type": "Input.Text", "id": "comment", "label": "Kommentar"},
    ],
    "actions": [
        {"type": "Action.Execute", "title": "Jeg har set den", "verb": "ack", "data": {"alert": 17}},
        {"type": "Action.OpenUrl", "title": "Åbn handleplan", "url": "https://example.org/plan"},
    ],
}


async def post_card(m365, card=ALERT_CARD) -> str:
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]
    return m365.emulator.post_activity(
        conversation_id, {"type": "message", "attachments": [{"contentType": CARD, "content": card}]}
    )


async def test_overview_lists_mailboxes_and_chats_with_names(m365):
    await m365.send_mail(await m365.graph_headers(), to=["anna@kk.example", "ukendt@kk.example"])
    await post_card(m365)
    response = await m365.client.get("/")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "Postkasser" in page and "Anna Andersen" in page and "ukendt@kk.example" in page
    assert f'href="/chat/{ANNA}"' in page
    assert "Der er ikke sat et bot-endpoint op" in page


async def test_mailbox_page_shows_subject_and_sandboxed_html(m365):
    body = {"contentType": "HTML", "content": '<h1>Alarm</h1><script>alert("x")</script>'}
    await m365.send_mail(await m365.graph_headers(), to=["anna@kk.example"], subject="Øvelse: skyderi", body=body)
    page = await (await m365.client.get("/mailbox/anna@kk.example")).text()
    assert "Øvelse: skyderi" in page
    assert "<script>" not in page
    [srcdoc] = re.findall(r'<iframe sandbox="" [^>]*srcdoc="([^"]*)"', page)
    assert unescape(srcdoc) == body["content"]
    assert "ssp@kk.example" in page


async def test_chat_page_renders_the_card(m365):
    await post_card(m365)
    page = await (await m365.client.get(f"/chat/{ANNA}")).text()
    assert "ØVELSE" in page
    assert "<strong>Nørrebro st.</strong>" in page
    assert "Sted" in page and "Rød" in page
    assert "Jeg har set den" in page and 'href="https://example.org/plan"' in page
    assert 'name="input:comment"' in page
    assert "Der er ikke sat et bot-endpoint op" in page


async def test_pressing_an_action_execute_button_invokes_the_bot(bot_and_emulator):
    bot, m365 = bot_and_emulator
    activity_id = await post_card(m365)
    bot.invoke_card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "Kvitteret"}]}
    response = await m365.client.post(
        f"/chat/{ANNA}/action",
        data={"activity_id": activity_id, "attachment": "0", "action": "0", "input:comment": "På vej"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"].startswith(f"/chat/{ANNA}?besked=")
    [invoke] = bot.received
    assert invoke["type"] == "invoke" and invoke["replyToId"] == activity_id
    assert invoke["value"]["action"] == {
        "type": "Action.Execute",
        "verb": "ack",
        "data": {"alert": 17, "comment": "På vej"},
    }
    page = await (await m365.client.get(response.headers["Location"])).text()
    assert "Kvitteret" in page and "kortet blev opdateret" in page
    assert "Trykkede på" in page


async def test_sending_text_from_the_chat_page(bot_and_emulator):
    bot, m365 = bot_and_emulator
    response = await m365.client.post(f"/chat/{ANNA}/send", data={"text": "status?"})
    assert response.status == 200  # followed the redirect back to the chat
    assert bot.received[0]["text"] == "status?"
    assert "status?" in await response.text()


async def test_chat_forms_without_a_bot_endpoint_explain(m365):
    response = await m365.client.post(f"/chat/{ANNA}/send", data={"text": "hej"})
    page = await response.text()
    assert "Der er ikke sat et bot-endpoint op, så intet blev sendt." in page
