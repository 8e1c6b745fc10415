"""Graph sendMail: validation, delivery to mailboxes, reading a mailbox."""

from __future__ import annotations

from emulator_helpers import BOT_SCOPE


async def test_send_mail_lands_in_every_mailbox_with_bcc_hidden(m365):
    headers = await m365.graph_headers()
    response = await m365.send_mail(
        headers, to=["anna@kk.example"], cc=["cc@kk.example"], bcc=["bo@kk.example", "x@kk.example"], subject="Alarm"
    )
    assert response.status == 202
    assert await response.read() == b""
    mailboxes = m365.emulator.mailboxes
    assert set(mailboxes) == {"anna@kk.example", "cc@kk.example", "bo@kk.example", "x@kk.example"}
    bo = mailboxes["bo@kk.example"][0]
    assert bo["subject"] == "Alarm" and bo["bcc"] is True
    assert bo["to"] == ["anna@kk.example"] and bo["cc"] == ["cc@kk.example"]
    assert mailboxes["anna@kk.example"][0]["bcc"] is False
    assert "bo@kk.example" not in str(mailboxes["anna@kk.example"][0])
    [sent] = m365.emulator.sent_items["ssp@kk.example"]
    assert sent["bcc"] == ["bo@kk.example", "x@kk.example"]

    response = await m365.client.get("/_emulator/mailboxes/bo@kk.example")
    data = await response.json()
    assert data["name"] == "Bo Bech"
    assert data["messages"][0]["subject"] == "Alarm"


async def test_pascal_case_body_as_msgraph_sdk_sends_it(m365):
    payload = {
        "Message": {
            "Subject": "Fra SDK",
            "Body": {"ContentType": "html", "Content": "<p>Hej</p>"},
            "ToRecipients": [{"EmailAddress": {"Address": "anna@kk.example"}}],
        },
        "SaveToSentItems": False,
    }
    response = await m365.client.post(
        "/v1.0/users/ssp@kk.example/sendMail", json=payload, headers=await m365.graph_headers()
    )
    assert response.status == 202
    [message] = m365.emulator.mailboxes["anna@kk.example"]
    assert message["subject"] == "Fra SDK"
    assert message["body"] == {"contentType": "html", "content": "<p>Hej</p>"}
    assert m365.emulator.sent_items == {}


async def test_more_than_500_recipients_are_refused(m365):
    headers = await m365.graph_headers()
    addresses = [f"p{i}@kk.example" for i in range(501)]
    response = await m365.send_mail(headers, to=addresses[:1], bcc=addresses[1:])
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "ErrorTooManyRecipients"
    assert m365.emulator.mailboxes == {}

    response = await m365.send_mail(headers, bcc=addresses[:500])
    assert response.status == 202
    assert len(m365.emulator.mailboxes) == 500


async def test_no_recipients_and_bad_addresses_are_refused(m365):
    headers = await m365.graph_headers()
    response = await m365.send_mail(headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "ErrorInvalidRecipients"
    response = await m365.send_mail(headers, to=["not an address"])
    assert response.status == 400
    response = await m365.client.post("/v1.0/users/ssp@kk.example/sendMail", data=b"{", headers=headers)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "BadRequest"


async def test_missing_or_wrong_token_is_401(m365):
    response = await m365.send_mail({}, to=["anna@kk.example"])
    assert response.status == 401
    error = (await response.json())["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert "innerError" in error

    response = await m365.send_mail({"Authorization": "Bearer not.a.token"}, to=["anna@kk.example"])
    assert response.status == 401

    bot_token = await m365.token(BOT_SCOPE)
    response = await m365.send_mail({"Authorization": f"Bearer {bot_token}"}, to=["anna@kk.example"])
    assert response.status == 401
    assert "audience" in (await response.json())["error"]["message"]

    forged = m365.emulator.signed_activity_token(key=m365.emulator.rogue_key(), audience="https://graph.microsoft.com")
    response = await m365.send_mail({"Authorization": f"Bearer {forged}"}, to=["anna@kk.example"])
    assert response.status == 401
    assert m365.emulator.mailboxes == {}


async def test_read_a_mailbox_through_graph(m365):
    headers = await m365.graph_headers()
    for subject in ("Første", "Anden"):
        await m365.send_mail(
            headers, to=["anna@kk.example"], subject=subject, body={"contentType": "HTML", "content": "<b>x</b>"}
        )
    response = await m365.client.get("/v1.0/users/anna@kk.example/messages?$top=1", headers=headers)
    assert response.status == 200
    body = await response.json()
    [message] = body["value"]
    assert message["subject"] == "Anden"
    assert message["from"]["emailAddress"]["address"] == "ssp@kk.example"
    assert message["toRecipients"] == [{"emailAddress": {"address": "anna@kk.example", "name": "anna@kk.example"}}]
    assert message["bodyPreview"] == "x"
    assert "%24skip=1" in body["@odata.nextLink"] or "$skip=1" in body["@odata.nextLink"]


async def test_user_by_object_id_sends_from_their_address(m365):
    anna_id = m365.config.people[0]["teams_user_id"]
    response = await m365.send_mail(await m365.graph_headers(), to=["bo@kk.example"], sender=anna_id)
    assert response.status == 202
    assert m365.emulator.mailboxes["bo@kk.example"][0]["from"] == "anna@kk.example"
    assert m365.emulator.mailboxes["bo@kk.example"][0]["from_name"] == "Anna Andersen"
