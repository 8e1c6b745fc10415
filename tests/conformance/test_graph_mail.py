"""Microsoft Graph mail as the service uses it, checked against the emulator over HTTP.

The service sends alert mail with `POST /users/{sender}/sendMail` (msgraph-sdk, one message with
the recipients in Bcc and a named extended property holding the alert's id) and, after an
interrupted send, finds the saved copies again in Sent Items with
`GET /users/{sender}/mailFolders/sentitems/messages?$filter=singleValueExtendedProperties/Any(...)`.

Documentation checked against:
- https://learn.microsoft.com/en-us/graph/api/user-sendmail
- https://learn.microsoft.com/en-us/graph/errors
- https://learn.microsoft.com/en-us/graph/permissions-reference
- https://learn.microsoft.com/en-us/graph/api/resources/itembody
- https://learn.microsoft.com/en-us/graph/api/resources/message
- https://learn.microsoft.com/en-us/graph/api/resources/attachment
- https://learn.microsoft.com/en-us/graph/api/resources/extended-properties-overview
- https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get
- https://learn.microsoft.com/en-us/graph/api/user-list-messages
- https://learn.microsoft.com/en-us/graph/api/mailfolder-list-messages
- https://learn.microsoft.com/en-us/graph/throttling
- https://learn.microsoft.com/en-us/graph/throttling-limits
- https://learn.microsoft.com/en-us/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt

import pytest

from notifications.channels.base import AlertMessage, Recipient
from notifications.channels.email import GraphMailChannel
from notifications.channels.mail_read_back import ALERT_PROPERTY, SentItemsReadBack

from .mailcal_support import SENDER, graph, graph_error, make_graph  # noqa: F401

SEND = f"/v1.0/users/{SENDER}/sendMail"
SENT_ITEMS = f"/v1.0/users/{SENDER}/mailFolders/sentitems/messages"


def mail(*bcc: str, save=None, alert: str | None = "7", **message) -> dict:
    body = {"message": {"subject": "Varsel", "body": {"contentType": "Text", "content": "Hej"},
                        "toRecipients": [{"emailAddress": {"address": SENDER}}],
                        "bccRecipients": [{"emailAddress": {"address": a}} for a in bcc], **message}}
    if alert is not None:
        body["message"]["singleValueExtendedProperties"] = [{"id": ALERT_PROPERTY, "value": alert}]
    if save is not None:
        body["saveToSentItems"] = save
    return body


def alert_message(alert_id: int, **extra) -> AlertMessage:
    return AlertMessage(alert_id=alert_id, incident_id=1, subject="AKUT: Skyderi", text="Skyderi",
                        facts=(), severity="akut", exercise=False, link="", html="<p>Skyderi</p>", **extra)


def people(*addresses: str) -> list[Recipient]:
    return [Recipient(person_id=a.split("@")[0], name=a, email=a) for a in addresses]


def by_value(condition: str, property_id: str = ALERT_PROPERTY) -> str:
    return f"singleValueExtendedProperties/Any(ep: ep/id eq '{property_id}' and {condition})"


# sendMail -------------------------------------------------------------------------------------

async def test_the_services_send_is_accepted_with_202_and_no_body(graph):
    """user-sendmail, "Response": "If successful, this method returns 202 Accepted response code.
    It doesn't return anything in the response body." The service sends through msgraph-sdk,
    which writes the action's parameters as `Message` and `SaveToSentItems`."""
    channel = GraphMailChannel(graph.sdk(), sender=SENDER)
    result = await channel.send(alert_message(7, attachments=(("a.ics", "text/calendar", b"BEGIN:VCALENDAR"),)),
                                people("anna@kk.example", "bo@kk.example"))
    assert result.ok and result.status_code == 202
    (record,) = graph.emulator.log.select("graph")
    assert record["status"] == 202 and "Message" in record["body"]
    raw = await graph.client.post(SEND, json=mail("anna@kk.example"), headers=await graph.headers())
    assert raw.status == 202 and await raw.read() == b""


async def test_send_mail_needs_the_mail_send_permission(graph):
    """user-sendmail, "Permissions": Application: Mail.Send (no other). A token without it is refused
    with 403 (errors page, "HTTP status codes": 403 Forbidden)."""
    graph.grant("Mail.Read", "Calendars.ReadWrite")
    response = await graph.client.post(SEND, json=mail("anna@kk.example"), headers=await graph.headers())
    await graph_error(response, 403, "ErrorAccessDenied")
    assert graph.emulator.mailboxes == {}


async def test_message_is_required(graph):
    """user-sendmail, "Request body": message (Message) "The message to send. Required." """
    response = await graph.client.post(SEND, json={"saveToSentItems": True}, headers=await graph.headers())
    await graph_error(response, 400)


async def test_malformed_json_is_a_400_in_graphs_error_shape(graph):
    """errors page, "Error resource type": every error is one JSON object with a single `error`
    property holding `code`, `message` and `innerError` (request-id, date, client-request-id)."""
    headers = await graph.headers(**{"Content-Type": "application/json", "client-request-id": "abc-123"})
    response = await graph.client.post(SEND, data=b"{not json", headers=headers)
    error = await graph_error(response, 400)
    assert error["innerError"]["client-request-id"] == "abc-123"


@pytest.mark.parametrize("value, saved", [(None, True), (True, True), (False, False), ("false", False),
                                          ("true", True)])
async def test_save_to_sent_items_defaults_to_true(graph, value, saved):
    """user-sendmail, "Request body": saveToSentItems (Boolean) "Indicates whether to save the message
    in Sent Items. Specify it only if the parameter is false; default is true." Example 1 sends it as
    the string "false"."""
    response = await graph.client.post(SEND, json=mail("anna@kk.example", save=value), headers=await graph.headers())
    assert response.status == 202
    assert bool(graph.emulator.sent_items.get(SENDER)) is saved


async def test_save_to_sent_items_must_be_a_boolean(graph):
    """user-sendmail, "Request body": saveToSentItems is a Boolean; another value is a 400."""
    response = await graph.client.post(SEND, json=mail("anna@kk.example", save="måske"), headers=await graph.headers())
    await graph_error(response, 400)
    assert graph.emulator.mailboxes == {}


@pytest.mark.parametrize("content_type, accepted", [("Text", True), ("HTML", True), ("html", True),
                                                    ("markdown", False)])
async def test_body_content_type_is_text_or_html(graph, content_type, accepted):
    """itemBody resource, "Properties": contentType (bodyType) "The type of the content. Possible values
    are text and html." sendMail's examples write "Text" and "HTML"."""
    body = mail("anna@kk.example", body={"contentType": content_type, "content": "<p>Hej</p>"})
    response = await graph.client.post(SEND, json=body, headers=await graph.headers())
    if accepted:
        assert response.status == 202
        assert graph.emulator.mailboxes["anna@kk.example"][0]["body"]["contentType"] == content_type.lower()
    else:
        await graph_error(response, 400)


@pytest.mark.parametrize("importance, accepted", [("high", True), ("Low", True), ("urgent", False)])
async def test_importance_is_low_normal_or_high(graph, importance, accepted):
    """message resource, "Properties": importance "The importance of the message. The possible values
    are: low, normal, and high." """
    response = await graph.client.post(SEND, json=mail("anna@kk.example", importance=importance),
                                       headers=await graph.headers())
    assert response.status == (202 if accepted else 400)


async def test_an_attachment_names_its_derived_type(graph):
    """attachment resource: the base type of fileAttachment, itemAttachment and referenceAttachment;
    user-sendmail example 3 attaches a file with "@odata.type": "#microsoft.graph.fileAttachment".
    Without the derived type Graph cannot read the attachment."""
    headers = await graph.headers()
    file = {"name": "invitation.ics", "contentType": "text/calendar", "contentBytes": "QkVHSU46VkNBTEVOREFS"}
    response = await graph.client.post(SEND, json=mail("anna@kk.example", attachments=[file]), headers=headers)
    await graph_error(response, 400)
    typed = {"@odata.type": "#microsoft.graph.fileAttachment", **file}
    response = await graph.client.post(SEND, json=mail("anna@kk.example", attachments=[typed]), headers=headers)
    assert response.status == 202


async def test_more_than_500_recipients_are_refused(graph):
    """Exchange Online limits, "Sending limits": recipient limit 500 per message."""
    headers = await graph.headers()
    addresses = [f"p{i}@kk.example" for i in range(499)]
    response = await graph.client.post(SEND, json=mail(*addresses), headers=headers)  # 499 Bcc + the sender
    assert response.status == 202
    response = await graph.client.post(SEND, json=mail(*addresses, "one-more@kk.example"), headers=headers)
    await graph_error(response, 400, "ErrorTooManyRecipients")


async def test_mime_content_is_base64_with_text_plain(graph):
    """user-sendmail, "Request headers": Content-Type text/plain for MIME content, given "as a
    base64-encoded string"; "If the request body includes malformed MIME content, this method returns
    400 Bad request and the following error message: Invalid base64 string for MIME content." """
    headers = await graph.headers(**{"Content-Type": "text/plain"})
    mime = (f"From: {SENDER}\r\nTo: anna@kk.example\r\nSubject: Test\r\nContent-Type: text/plain\r\n\r\nHej\r\n")
    response = await graph.client.post(SEND, data=base64.b64encode(mime.encode()), headers=headers)
    assert response.status == 202, await response.text()
    assert graph.emulator.mailboxes["anna@kk.example"][0]["subject"] == "Test"
    response = await graph.client.post(SEND, data=b"From: x\r\n\r\nnot base64 at all!", headers=headers)
    error = await graph_error(response, 400, "ErrorMimeContentInvalidBase64String")
    assert error["message"] == "Invalid base64 string for MIME content."


@pytest.mark.parametrize("property_id, accepted", [
    ("String {8ECCC264-6880-4EBE-992F-8888D2EEAA1D} Name TestProperty", True),
    ("Integer {8ECCC264-6880-4EBE-992F-8888D2EEAA1D} Id 0x8012", True),
    ("String 0x4001001E", True),
    ("SSPBeredskabVarsel", False),
    ("String {not-a-guid} Name X", False),
])
async def test_extended_property_ids_take_the_documented_formats(graph, property_id, accepted):
    """Outlook extended properties overview, "id formats": "{type} {guid} Name {name}",
    "{type} {guid} Id {id}" and "{type} {proptag}" (e.g. "String 0x4001001E")."""
    body = mail("anna@kk.example", alert=None, singleValueExtendedProperties=[{"id": property_id, "value": "1"}])
    response = await graph.client.post(SEND, json=body, headers=await graph.headers())
    assert response.status == (202 if accepted else 400), await response.text()


# Sent Items -----------------------------------------------------------------------------------

async def test_the_services_read_back_finds_every_bcc_of_an_alert(graph):
    """singlevaluelegacyextendedproperty-get, "GET resource instances with string-typed extended
    properties matching a filter": `$filter=singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and
    ep/value eq '{value}')` on `/users/{id}/mailFolders/{id}/messages`; sendMail saves the message in
    Sent Items. The service sends and reads back with msgraph-sdk."""
    client = graph.sdk()
    channel = GraphMailChannel(client, sender=SENDER)
    assert (await channel.send(alert_message(7), people("anna@kk.example", "bo@kk.example"))).ok
    assert (await channel.send(alert_message(8), people("cc@kk.example"))).ok
    found = await SentItemsReadBack(client, sender=SENDER).delivered(
        7, people("anna@kk.example", "bo@kk.example", "cc@kk.example"), dt.datetime.now(dt.timezone.utc))
    assert set(found) == {"anna", "bo"}
    (query,) = [r["query"] for r in graph.emulator.log.select("graph") if r["method"] == "GET"]
    assert "singleValueExtendedProperties" in query and "$top=100" in query


@pytest.mark.parametrize("condition, alerts", [
    ("ep/value eq 'varsel-7'", ["varsel-7"]),
    ("ep/value eq 'VARSEL-7'", ["varsel-7"]),  # the value is compared case-insensitively
    ("ep/value ne 'varsel-7'", ["varsel-8", "varsel-17"]),
    ("contains(ep/value, '7')", ["varsel-7", "varsel-17"]),
    ("startswith(ep/value, 'varsel-1')", ["varsel-17"]),
])
async def test_filter_forms_on_a_string_property(graph, condition, alerts):
    """singlevaluelegacyextendedproperty-get: for string-typed extended properties "apply a contains,
    startswith, eq, or ne operator on value"; "Filtering the value property of an extended property
    is case-insensitive." """
    headers = await graph.headers()
    for alert in ("varsel-7", "varsel-8", "varsel-17"):
        assert (await graph.client.post(SEND, json=mail("anna@kk.example", alert=alert), headers=headers)).status == 202
    response = await graph.client.get(SENT_ITEMS, params={"$filter": by_value(condition)}, headers=headers)
    assert response.status == 200, await response.text()
    alert_of = {m["id"]: m["extended_properties"][ALERT_PROPERTY] for m in graph.emulator.sent_items[SENDER]}
    assert sorted(alert_of[m["id"]] for m in (await response.json())["value"]) == sorted(alerts)


async def test_the_name_in_a_property_id_is_case_sensitive(graph):
    """singlevaluelegacyextendedproperty-get: "Filtering the string name (Name) in the id of an
    extended property is case-sensitive." (the type and the GUID are not)."""
    headers = await graph.headers()
    assert (await graph.client.post(SEND, json=mail("anna@kk.example", alert="7"), headers=headers)).status == 202
    other_case = ALERT_PROPERTY.replace("SSPBeredskabVarsel", "sspberedskabvarsel")
    upper_guid = ALERT_PROPERTY.replace("88a19ea6", "88A19EA6").replace("string", "String")
    for property_id, count in ((other_case, 0), (upper_guid, 1)):
        response = await graph.client.get(
            SENT_ITEMS, params={"$filter": by_value("ep/value eq '7'", property_id)}, headers=headers)
        assert len((await response.json())["value"]) == count


async def test_a_numeric_property_is_cast_before_comparing(graph):
    """singlevaluelegacyextendedproperty-get, "Request 4": a non-string value is compared after
    `cast(ep/value, Edm.Int32)`, with eq, ne, ge, gt, le or lt."""
    headers = await graph.headers()
    number = "Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Name Pallete"
    for value in ("5", "12"):
        body = mail("anna@kk.example", alert=None, singleValueExtendedProperties=[{"id": number, "value": value}])
        assert (await graph.client.post(SEND, json=body, headers=headers)).status == 202
    response = await graph.client.get(
        SENT_ITEMS, params={"$filter": by_value("cast(ep/value, Edm.Int32) gt 10", number)}, headers=headers)
    assert response.status == 200 and len((await response.json())["value"]) == 1


async def test_filtering_on_an_extended_property_needs_mail_read(graph):
    """singlevaluelegacyextendedproperty-get, "Permissions": message, Application: Mail.Read.
    permissions-reference, Mail.ReadBasic.All: all properties "except body, previewBody, attachments
    and any extended properties". List messages itself allows Mail.ReadBasic.All."""
    headers = await graph.headers()
    assert (await graph.client.post(SEND, json=mail("anna@kk.example"), headers=headers)).status == 202
    graph.grant("Mail.Send", "Mail.ReadBasic.All")
    basic = await graph.headers()
    listed = await graph.client.get(SENT_ITEMS, headers=basic)
    assert listed.status == 200
    (message,) = (await listed.json())["value"]
    assert "body" not in message and "bodyPreview" not in message and message["subject"] == "Varsel"
    response = await graph.client.get(SENT_ITEMS, params={"$filter": by_value("ep/value eq '7'")}, headers=basic)
    await graph_error(response, 403, "ErrorAccessDenied")
    graph.grant("Mail.Send")
    await graph_error(await graph.client.get(SENT_ITEMS, headers=await graph.headers()), 403)


@pytest.mark.parametrize("top, status", [("0", 400), ("1", 200), ("1000", 200), ("1001", 400)])
async def test_top_is_between_1_and_1000(graph, top, status):
    """user-list-messages: "The default page size is 10 messages. Use $top to customize the page
    size, within the range of 1 and 1000." """
    response = await graph.client.get(SENT_ITEMS, params={"$top": top}, headers=await graph.headers())
    assert response.status == status


async def test_pages_of_10_by_default_linked_by_next_link_with_the_query(graph):
    """user-list-messages: default page size 10; "To get the next page of messages, simply apply the
    entire URL returned in @odata.nextLink ... This URL includes any query parameters you may have
    specified in the initial request." """
    headers = await graph.headers()
    for n in range(12):
        assert (await graph.client.post(SEND, json=mail("anna@kk.example", alert="7", subject=f"Varsel {n}"),
                                         headers=headers)).status == 202
    query = {"$select": "subject,bccRecipients", "$filter": by_value("ep/value eq '7'")}
    first = await (await graph.client.get(SENT_ITEMS, params=query, headers=headers)).json()
    assert len(first["value"]) == 10
    assert set(first["value"][0]) == {"id", "subject", "bccRecipients"}
    link = first["@odata.nextLink"]
    assert "%24filter" in link or "$filter" in link
    second = await (await graph.client.get(link.removeprefix(graph.base_url), headers=headers)).json()
    assert len(second["value"]) == 2 and "@odata.nextLink" not in second
    subjects = {m["subject"] for m in first["value"] + second["value"]}
    assert subjects == {f"Varsel {n}" for n in range(12)}


async def test_select_names_message_properties(graph):
    """OData $select (query parameters page): names properties of the type; a name the message type
    does not have is a 400."""
    headers = await graph.headers()
    response = await graph.client.get(SENT_ITEMS, params={"$select": "id,toRecipients,bccRecipients"}, headers=headers)
    assert response.status == 200
    response = await graph.client.get(SENT_ITEMS, params={"$select": "id,recipients"}, headers=headers)
    await graph_error(response, 400)


async def test_orderby_with_a_filter_on_another_property_is_inefficient(graph):
    """user-list-messages, "Using filter and orderby in the same query": properties in $orderby must
    also appear in $filter, first; otherwise error code InefficientFilter, "The restriction or sort
    order is too complex for this operation." """
    query = {"$filter": by_value("ep/value eq '7'"), "$orderby": "receivedDateTime desc"}
    response = await graph.client.get(SENT_ITEMS, params=query, headers=await graph.headers())
    error = await graph_error(response, 400, "InefficientFilter")
    assert error["message"] == "The restriction or sort order is too complex for this operation."


# Throttling -----------------------------------------------------------------------------------

async def test_over_the_sending_limit_is_429_with_retry_after(graph):
    """Exchange Online limits, "Sending limits": 30 messages per minute per mailbox. throttling page,
    "Best practices to handle throttling": a throttled request is answered 429 with a Retry-After
    header to wait for. The service's channel hands the wait back to its worker (no SDK retry)."""
    channel = GraphMailChannel(graph.sdk(), sender=SENDER)
    for n in range(30):
        assert (await channel.send(alert_message(n), people("anna@kk.example"))).ok
    refused = await channel.send(alert_message(31), people("anna@kk.example"))
    assert refused.status_code == 429 and refused.transient and refused.retry_after and refused.retry_after > 0
    response = await graph.client.post(SEND, json=mail("anna@kk.example"), headers=await graph.headers())
    await graph_error(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    graph.clock.advance(61)
    assert (await channel.send(alert_message(32), people("anna@kk.example"))).ok


async def test_five_requests_at_once_on_one_mailbox_meet_the_concurrency_limit(make_graph):
    """throttling-limits, "Outlook service limits": per app per mailbox "Four concurrent requests";
    over it, 429 with Retry-After (Graph's throttling page)."""
    graph = await make_graph(latency_ms=(500, 500))  # long enough for all five to be in flight
    headers = await graph.headers()
    answers = await asyncio.gather(*(graph.client.get(SENT_ITEMS, headers=headers) for _ in range(5)))
    statuses = sorted(a.status for a in answers)
    assert statuses == [200, 200, 200, 200, 429]
    refused = next(a for a in answers if a.status == 429)
    assert int(refused.headers["Retry-After"]) >= 1
    await graph_error(refused, 429)


# GET /users/{id}/messages (the recipient's mailbox) -------------------------------------------

async def test_a_recipients_messages_list_what_reached_the_mailbox(graph):
    """user-list-messages, "HTTP request": `GET /users/{id | userPrincipalName}/messages` lists the
    messages in the user's mailbox; "Response": 200 OK and a collection of message objects in
    `value`. A Bcc recipient's copy arrives there; the sender's own mailbox does not list it."""
    headers = await graph.headers()
    assert (await graph.client.post(SEND, json=mail("anna@kk.example", subject="Til Anna"), headers=headers)).status == 202
    response = await graph.client.get("/v1.0/users/anna@kk.example/messages", headers=headers)
    assert response.status == 200
    body = await response.json()
    assert [m["subject"] for m in body["value"]] == ["Til Anna"]
    others = await (await graph.client.get("/v1.0/users/bo@kk.example/messages", headers=headers)).json()
    assert others["value"] == []


@pytest.mark.parametrize("top, status", [("0", 400), ("1", 200), ("1000", 200), ("1001", 400)])
async def test_a_mailboxs_messages_take_top_between_1_and_1000(graph, top, status):
    """user-list-messages, "Optional query parameters": "Use $top to customize the page size,
    within the range of 1 and 1000." Outside it, 400 in Graph's error shape."""
    response = await graph.client.get("/v1.0/users/anna@kk.example/messages", params={"$top": top},
                                      headers=await graph.headers())
    if status == 400:
        await graph_error(response, 400)
    else:
        assert response.status == 200


async def test_a_mailboxs_messages_need_a_mail_read_permission(graph):
    """user-list-messages, "Permissions": Application Mail.ReadBasic.All (least privileged),
    Mail.Read, Mail.ReadWrite. With Mail.Send alone the answer is 403 ErrorAccessDenied."""
    graph.grant("Mail.Send")
    response = await graph.client.get("/v1.0/users/anna@kk.example/messages", headers=await graph.headers())
    await graph_error(response, 403, "ErrorAccessDenied")
    graph.grant("Mail.ReadBasic.All")
    response = await graph.client.get("/v1.0/users/anna@kk.example/messages", headers=await graph.headers())
    assert response.status == 200


# Names in a sendMail body ----------------------------------------------------------------------

async def test_a_parameter_send_mail_does_not_take_is_400_request_body_read(graph):
    """user-sendmail, "Request body": the parameters are `message` (required) and
    `saveToSentItems`; another name is refused with 400 RequestBodyRead, and nothing is sent."""
    body = {**mail("anna@kk.example"), "sendLater": True}
    error = await graph_error(await graph.client.post(SEND, json=body, headers=await graph.headers()), 400,
                              "RequestBodyRead")
    assert "sendLater" in error["message"]
    assert graph.emulator.mailboxes == {}


async def test_a_property_messages_do_not_have_is_400_request_body_read(graph):
    """resources/message, "Properties": the message type is not open; a property it does not list
    is 400 RequestBodyRead ("The property '...' does not exist on type 'microsoft.graph.message'"),
    whatever the case of the names the type does list (msgraph-sdk writes `Message`)."""
    body = mail("anna@kk.example")
    body["message"]["priority"] = "high"
    error = await graph_error(await graph.client.post(SEND, json=body, headers=await graph.headers()), 400,
                              "RequestBodyRead")
    assert "'priority'" in error["message"] and "microsoft.graph.message" in error["message"]
    cased = {"Message": {**mail("anna@kk.example")["message"], "Subject": "Varsel"}, "SaveToSentItems": False}
    assert (await graph.client.post(SEND, json=cased, headers=await graph.headers())).status == 202
