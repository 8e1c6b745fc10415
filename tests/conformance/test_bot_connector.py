"""Conformance of the emulator's Bot Connector (Teams) with Microsoft's documentation, called the
way the service calls it: the Microsoft 365 Agents SDK's ``ConnectorClient``, and plain HTTP
where the rule is about the wire (headers, error bodies).

Pages checked against:

* Bot Connector API reference:
  https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference
  (Request headers, Response headers, HTTP status codes, Errors, Create Conversation, Send to
  Conversation, Reply to Activity, Update Activity, Delete Activity, Get Conversation Members,
  ErrorResponse object, ResourceResponse object, ConversationResourceResponse object)
* Teams, Send proactive messages:
  https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages
  (the JSON example of creating a one-on-one conversation; "Understand who blocked, muted, or
  uninstalled a bot"; the REST example of updating a message)
* Teams, Optimize your bot with rate limiting:
  https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/rate-limit
  ("Per bot per thread limit")
* Teams, Universal Actions, User Specific Views:
  https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/user-specific-views
* Teams, Work with Universal Actions for Adaptive Cards (schema version 1.5 for Action.Execute):
  https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/work-with-universal-actions-for-adaptive-cards
"""
from __future__ import annotations

import aiohttp
import pytest
from microsoft_agents.activity import Activity, Attachment, ChannelAccount, ConversationParameters
from microsoft_agents.hosting.core.connector.client.connector_client import ConnectorClient

from m365emulator import EmulatorConfig, start_emulator
from m365emulator.config import DEFAULT_BOT_APP_ID, DEFAULT_BOT_APP_SECRET
from notifications.tokens import BOT_SCOPE, ClientCredentialsTokens

CARD = "application/vnd.microsoft.card.adaptive"
ANNA = "aaaaaaaa-0000-0000-0000-000000000001"
BO = "aaaaaaaa-0000-0000-0000-000000000002"
PEOPLE = [{"name": "Anna Andersen", "email": "anna@kk.example", "teams_user_id": ANNA},
          {"name": "Bo Bech", "email": "bo@kk.example", "teams_user_id": BO}]


class Connector:
    """The emulator on a port, a bot token, the SDK's connector client and a plain HTTP session."""

    def __init__(self, emulator, runner, http, token):
        self.emulator, self.runner, self.http, self.token = emulator, runner, http, token
        self.service_url = emulator.service_url
        self.client = ConnectorClient(self.service_url, token)

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, path: str) -> str:
        return self.service_url.rstrip("/") + "/" + path.lstrip("/")

    def parameters(self, user_id: str = ANNA, **changes) -> ConversationParameters:
        tenant = self.emulator.config.tenant_id
        fields = dict(is_group=False, agent=ChannelAccount(id=f"28:{DEFAULT_BOT_APP_ID}"),
                      members=[ChannelAccount(id=user_id, aad_object_id=user_id)],
                      tenant_id=tenant, channel_data={"tenant": {"id": tenant}})
        fields.update(changes)
        return ConversationParameters(**fields)

    async def conversation(self, user_id: str = ANNA) -> str:
        return (await self.client.conversations.create_conversation(self.parameters(user_id))).id


@pytest.fixture
async def connector():
    clock = [1000.0]
    emulator, runner = await start_emulator(EmulatorConfig(people=PEOPLE), clock=lambda: clock[0])
    http = aiohttp.ClientSession()
    tokens = ClientCredentialsTokens(
        http, token_url=f"{emulator.base_url}/{emulator.config.tenant_id}/oauth2/v2.0/token",
        client_id=DEFAULT_BOT_APP_ID, client_secret=DEFAULT_BOT_APP_SECRET)
    wired = Connector(emulator, runner, http, await tokens.token(BOT_SCOPE))
    wired.clock = clock
    yield wired
    await wired.client.close()
    await http.close()
    await runner.cleanup()


def card(*texts: str, **extra) -> dict:
    return {"type": "AdaptiveCard", "version": "1.5",
            "body": [{"type": "TextBlock", "text": t} for t in texts], **extra}


def card_message(content: dict) -> Activity:
    return Activity(type="message", attachments=[Attachment(content_type=CARD, content=content)])


async def error_response(response: aiohttp.ClientResponse) -> dict:
    """The ErrorResponse object: {"error": {"code": str, "message": str}} (API reference,
    "Errors" and "ErrorResponse object")."""
    body = await response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    return body["error"]


# Create Conversation ------------------------------------------------------------------------

async def test_create_conversation_returns_a_conversation_resource_response(connector):
    """Create Conversation: POST /v3/conversations with ConversationParameters returns a
    ConversationResourceResponse whose `id` is the conversation's (API reference, "Create
    Conversation", "ConversationResourceResponse object"); a one-on-one chat in Teams has an id of
    the form `a:...` (Send proactive messages, JSON example)."""
    created = await connector.client.conversations.create_conversation(connector.parameters())
    assert created.id.startswith("a:")
    again = await connector.client.conversations.create_conversation(connector.parameters())
    assert again.id == created.id  # the one personal chat between this user and the bot


async def test_create_conversation_needs_the_tenant_and_a_user(connector):
    """"You must supply the user ID and the tenant ID" (Send proactive messages, JSON example of
    POST /v3/conversations); a malformed request is 400 with an ErrorResponse (API reference,
    "HTTP status codes", "Errors")."""
    body = connector.parameters().model_dump(by_alias=True, exclude_unset=True, mode="json")
    without_tenant = {k: v for k, v in body.items() if k not in ("tenantId", "channelData")}
    response = await connector.http.post(connector.url("v3/conversations"), json=without_tenant,
                                         headers=connector.auth)
    assert response.status == 400
    await error_response(response)
    without_members = dict(body, members=[])
    response = await connector.http.post(connector.url("v3/conversations"), json=without_members,
                                         headers=connector.auth)
    assert response.status == 400
    await error_response(response)


async def test_create_conversation_in_another_tenant_is_forbidden(connector):
    """403: "The bot is not allowed to perform the requested operation" (API reference, "HTTP
    status codes"): the bot is not installed in another tenant."""
    other = "00000000-0000-0000-0000-00000000abcd"
    body = connector.parameters(tenant_id=other, channel_data={"tenant": {"id": other}}).model_dump(
        by_alias=True, exclude_unset=True, mode="json")
    response = await connector.http.post(connector.url("v3/conversations"), json=body,
                                         headers=connector.auth)
    assert response.status == 403
    await error_response(response)


async def test_a_channel_thread_is_a_conversation_started_with_its_first_activity(connector):
    """A bot may start "a new conversation thread in a channel" (Send proactive messages, steps
    to send a proactive message); the answer is a ConversationResourceResponse with the
    conversation's `id` and the first activity's `activityId` (API reference,
    "ConversationResourceResponse object"). Replies go to that conversation."""
    channel = "19:beredskab0123456789abcdef@thread.tacv2"
    tenant = connector.emulator.config.tenant_id
    created = await connector.client.conversations.create_conversation(ConversationParameters(
        is_group=True, agent=ChannelAccount(id=f"28:{DEFAULT_BOT_APP_ID}"),
        channel_data={"channel": {"id": channel}, "tenant": {"id": tenant}},
        activity=card_message(card("ØVELSE")), tenant_id=tenant))
    assert created.id and created.activity_id
    reply = await connector.client.conversations.send_to_conversation(
        created.id, Activity(type="message", text="Opdatering"))
    [thread] = connector.emulator.channels[channel]
    assert thread["id"] == created.activity_id
    assert [r["id"] for r in thread["replies"]] == [reply.id]


async def test_no_new_group_chat_by_proactive_message(connector):
    """"You can't create a new group chat or a new channel in a team with proactive messaging"
    (Send proactive messages): isGroup without a channel is refused, 400 with an ErrorResponse."""
    body = connector.parameters(is_group=True, members=[
        ChannelAccount(id=ANNA, aad_object_id=ANNA), ChannelAccount(id=BO, aad_object_id=BO)]
    ).model_dump(by_alias=True, exclude_unset=True, mode="json")
    response = await connector.http.post(connector.url("v3/conversations"), json=body,
                                         headers=connector.auth)
    assert response.status == 400
    await error_response(response)


# Send to Conversation, Reply to Activity, Update Activity, Delete Activity ----------------

async def test_send_to_conversation_returns_a_resource_response(connector):
    """Send to Conversation: POST /v3/conversations/{conversationId}/activities returns a
    ResourceResponse with the new activity's `id` (API reference, "Send to Conversation",
    "ResourceResponse object")."""
    conversation_id = await connector.conversation()
    sent = await connector.client.conversations.send_to_conversation(
        conversation_id, card_message(card("ØVELSE")))
    assert sent.id
    [entry] = connector.emulator.chats[ANNA]
    assert entry["id"] == sent.id


async def test_reply_to_activity_returns_a_resource_response(connector):
    """Reply to Activity: POST /v3/conversations/{conversationId}/activities/{activityId}
    returns a ResourceResponse (API reference, "Reply to Activity")."""
    conversation_id = await connector.conversation()
    sent = await connector.client.conversations.send_to_conversation(
        conversation_id, card_message(card("ØVELSE")))
    reply = await connector.client.conversations.reply_to_activity(
        conversation_id, sent.id, Activity(type="message", text="Opdatering"))
    assert reply.id and reply.id != sent.id


async def test_update_activity_returns_the_activity_id(connector):
    """Update Activity: PUT /v3/conversations/{conversationId}/activities/{activityId} returns
    {"id": activityId} (API reference, "Update Activity"; Send proactive messages, "REST API to
    Update message in conversation")."""
    conversation_id = await connector.conversation()
    sent = await connector.client.conversations.send_to_conversation(
        conversation_id, card_message(card("ØVELSE")))
    response = await connector.http.put(
        connector.url(f"v3/conversations/{conversation_id}/activities/{sent.id}"),
        json={"type": "message", "attachments": [{"contentType": CARD, "content": card("Afblæst")}]},
        headers=connector.auth)
    assert response.status == 200
    assert await response.json() == {"id": sent.id}


async def test_update_of_an_unknown_activity_is_404(connector):
    """404: "The requested resource was not found", with an ErrorResponse (API reference, "HTTP
    status codes", "Errors")."""
    conversation_id = await connector.conversation()
    response = await connector.http.put(
        connector.url(f"v3/conversations/{conversation_id}/activities/1234"),
        json={"type": "message", "text": "x"}, headers=connector.auth)
    assert response.status == 404
    await error_response(response)


async def test_delete_activity_answers_with_a_status_only(connector):
    """Delete Activity returns "an HTTP Status code ... Nothing is specified in the body" (API
    reference, "Delete Activity")."""
    conversation_id = await connector.conversation()
    sent = await connector.client.conversations.send_to_conversation(
        conversation_id, Activity(type="message", text="x"))
    await connector.client.conversations.delete_activity(conversation_id, sent.id)
    assert connector.emulator.chats[ANNA][0]["deleted"] is True


async def test_activities_in_an_unknown_conversation_are_404(connector):
    """404 with an ErrorResponse for a conversation that does not exist (API reference, "HTTP
    status codes", "Errors")."""
    response = await connector.http.post(
        connector.url("v3/conversations/a:unknown/activities"),
        json={"type": "message", "text": "x"}, headers=connector.auth)
    assert response.status == 404
    await error_response(response)


async def test_an_activity_must_have_a_type(connector):
    """400: "The request was malformed or otherwise incorrect" (API reference, "HTTP status
    codes"); `type` is the activity's required kind (API reference, "Activity object")."""
    conversation_id = await connector.conversation()
    response = await connector.http.post(
        connector.url(f"v3/conversations/{conversation_id}/activities"),
        json={"text": "no type"}, headers=connector.auth)
    assert response.status == 400
    await error_response(response)


# Get Conversation Members ------------------------------------------------------------------

async def test_members_are_channel_accounts_with_teams_ids(connector):
    """Get Conversation Members returns an array of ChannelAccount (API reference, "Get
    Conversation Members"); in Teams a user's `id` is the Teams id (MRI, `29:...`), not the Entra
    object id, which is `aadObjectId` (User Specific Views: refresh.userIds hold "user MRIs")."""
    conversation_id = await connector.conversation()
    [member] = await connector.client.conversations.get_conversation_members(conversation_id)
    assert member.id.startswith("29:") and ANNA not in member.id
    assert member.aad_object_id == ANNA


# Headers -----------------------------------------------------------------------------------

async def test_requests_need_the_bots_bearer_token(connector):
    """"every API request that you issue must include an Authorization header" (API reference,
    "Request headers"); without it, or with a token not for the connector: 401 "The bot is not
    authorized to make the request", with an ErrorResponse."""
    conversation_id = await connector.conversation()
    url = connector.url(f"v3/conversations/{conversation_id}/activities")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": connector.token}):
        response = await connector.http.post(url, json={"type": "message", "text": "x"},
                                             headers=headers)
        assert response.status == 401, headers
        await error_response(response)
    assert connector.emulator.chats.get(ANNA, []) == []


async def test_every_response_carries_a_correlating_operation_id(connector):
    """"every response will contain an X-Correlating-OperationId header" (API reference,
    "Response headers"), errors included."""
    conversation_id = await connector.conversation()
    ok = await connector.http.post(connector.url(f"v3/conversations/{conversation_id}/activities"),
                                   json={"type": "message", "text": "x"}, headers=connector.auth)
    refused = await connector.http.post(connector.url("v3/conversations/a:unknown/activities"),
                                        json={"type": "message", "text": "x"}, headers=connector.auth)
    assert ok.status == 201 and refused.status == 404
    assert ok.headers["X-Correlating-OperationId"] != refused.headers["X-Correlating-OperationId"]


# Teams: rate limits ------------------------------------------------------------------------

async def test_eighth_message_in_a_second_to_one_conversation_is_429(connector):
    """Per bot per thread, Send to Conversation: 7 requests in 1 second (Rate limiting, "Per bot
    per thread limit"); over it Teams answers "HTTP 429 Too Many Requests". The emulator adds a
    Retry-After hint; the docs ask for backoff, so the service must cope without one too."""
    conversation_id = await connector.conversation()
    url = connector.url(f"v3/conversations/{conversation_id}/activities")
    statuses = []
    for _ in range(8):
        response = await connector.http.post(url, json={"type": "message", "text": "x"},
                                             headers=connector.auth)
        statuses.append(response.status)
    assert statuses == [201] * 7 + [429]
    assert float(response.headers["Retry-After"]) > 0
    await error_response(response)
    # Another conversation has its own limit.
    other = await connector.conversation(BO)
    response = await connector.http.post(connector.url(f"v3/conversations/{other}/activities"),
                                         json={"type": "message", "text": "x"}, headers=connector.auth)
    assert response.status == 201


async def test_sixty_messages_in_thirty_seconds_per_conversation(connector):
    """Per bot per thread: 60 requests in 30 seconds (Rate limiting, "Per bot per thread
    limit"), however slowly within the window."""
    conversation_id = await connector.conversation()
    url = connector.url(f"v3/conversations/{conversation_id}/activities")
    for _ in range(60):
        response = await connector.http.post(url, json={"type": "message", "text": "x"},
                                             headers=connector.auth)
        assert response.status == 201
        connector.clock[0] += 0.45  # 60 × 0.45 s = 27 s: under the 1 s and 2 s limits
    response = await connector.http.post(url, json={"type": "message", "text": "x"},
                                         headers=connector.auth)
    assert response.status == 429


# Teams: Adaptive Cards ---------------------------------------------------------------------

async def test_cards_above_schema_1_5_are_refused(connector):
    """Teams renders Adaptive Cards up to schema 1.5 (Work with Universal Actions, "Schema for
    Universal Actions for Adaptive Cards": version 1.5)."""
    conversation_id = await connector.conversation()
    response = await connector.http.post(
        connector.url(f"v3/conversations/{conversation_id}/activities"),
        json={"type": "message", "attachments": [{"contentType": CARD,
                                                  "content": dict(card("x"), version="1.6")}]},
        headers=connector.auth)
    assert response.status == 400
    await error_response(response)


async def test_refresh_user_ids_are_at_most_sixty(connector):
    """"You can create a maximum of 60 User Specific Views for a particular card ... by
    specifying their userIds in the Refresh property" (User Specific Views, card design
    guidelines). Teams' reaction to a longer list is not documented; the emulator refuses it."""
    conversation_id = await connector.conversation()
    action = {"type": "Action.Execute", "verb": "opdater", "data": {}}
    sixty = [f"29:1user{i}" for i in range(60)]
    ok = await connector.http.post(
        connector.url(f"v3/conversations/{conversation_id}/activities"),
        json={"type": "message", "attachments": [{"contentType": CARD, "content": card(
            "x", refresh={"action": action, "userIds": sixty})}]}, headers=connector.auth)
    assert ok.status == 201
    refused = await connector.http.post(
        connector.url(f"v3/conversations/{conversation_id}/activities"),
        json={"type": "message", "attachments": [{"contentType": CARD, "content": card(
            "x", refresh={"action": action, "userIds": sixty + ["29:1user60"]})}]},
        headers=connector.auth)
    assert refused.status == 400
    await error_response(refused)


async def test_automatic_refresh_only_for_listed_teams_ids(connector):
    """With userIds, the card refreshes automatically only for the users listed, by their MRIs;
    without userIds, for everyone in a conversation of at most 60 members; the others may
    refresh it by hand (User Specific Views, card design guidelines, "Refresh behavior")."""
    from m365emulator.card_refresh import refresh_trigger

    emulator = connector.emulator
    action = {"type": "Action.Execute", "verb": "opdater", "data": {}}
    assert refresh_trigger(emulator, ANNA, card("x", refresh={"action": action})) == "automatic"
    by_mri = card("x", refresh={"action": action, "userIds": [emulator.user_mri(ANNA)]})
    assert refresh_trigger(emulator, ANNA, by_mri) == "automatic"
    assert refresh_trigger(emulator, BO, by_mri) == "manual"
    by_entra_id = card("x", refresh={"action": action, "userIds": [ANNA]})
    assert refresh_trigger(emulator, ANNA, by_entra_id) == "manual"


# Teams: a user who blocked or uninstalled the bot ------------------------------------------

@pytest.mark.parametrize("how", ["block", "uninstall"])
async def test_writes_to_a_user_who_removed_the_bot_get_403_message_writes_blocked(connector, how):
    """"If the bot is blocked or uninstalled, Teams returns a 403 response code with a subCode:
    MessageWritesBlocked" (Send proactive messages, "Understand who blocked, muted, or uninstalled
    a bot"), with the body shown there: errorCode 209 and the subCode inside `message`."""
    conversation_id = await connector.conversation()
    sent = await connector.client.conversations.send_to_conversation(
        conversation_id, Activity(type="message", text="før"))
    answer = await connector.http.post(
        f"{connector.emulator.base_url}/_emulator/chats/{ANNA}/{how}")
    assert answer.status == 200
    with pytest.raises(aiohttp.ClientResponseError) as refused:
        await connector.client.conversations.send_to_conversation(
            conversation_id, Activity(type="message", text="efter"))
    assert refused.value.status == 403 and "MessageWritesBlocked" in refused.value.message
    response = await connector.http.post(
        connector.url(f"v3/conversations/{conversation_id}/activities/{sent.id}"),
        json={"type": "message", "text": "svar"}, headers=connector.auth)
    assert response.status == 403
    body = await response.json()
    assert body["errorCode"] == 209 and '"subCode": "MessageWritesBlocked"' in body["message"]
    assert [e["activity"].get("text") for e in connector.emulator.chats[ANNA]] == ["før"]
    # Another user is not affected.
    other = await connector.conversation(BO)
    assert (await connector.client.conversations.send_to_conversation(
        other, Activity(type="message", text="x"))).id
