"""Conformance of the emulator's Graph Teams-chat endpoints with Microsoft's documentation.

The service calls these to read back, after a crash, whether a card reached a person's chat with
the bot (notifications/channels/teams_read_back.py). Each test checks one rule, over HTTP, with
the service's own Graph client (msgraph-sdk, ``notifications.channels.email.graph_client``) where
it can express the request, else with httpx. Pages checked against:

- List apps installed for user:
  https://learn.microsoft.com/en-us/graph/api/userteamwork-list-installedapps
- Get one-on-one chat between the specified user and Teams app:
  https://learn.microsoft.com/en-us/graph/api/userscopeteamsappinstallation-get-chat
- List messages in a chat: https://learn.microsoft.com/en-us/graph/api/chat-list-messages
- teamsAppDefinition resource type (its ``bot`` relationship):
  https://learn.microsoft.com/en-us/graph/api/resources/teamsappdefinition
- Error responses: https://learn.microsoft.com/en-us/graph/errors
- Paging: https://learn.microsoft.com/en-us/graph/paging
"""
from __future__ import annotations

import datetime as dt
import json

import aiohttp
import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.chats.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.teamwork.installed_apps.installed_apps_request_builder import (
    InstalledAppsRequestBuilder,
)

from m365emulator import Emulator, EmulatorConfig, create_emulator_app
from notifications.channels.email import graph_client
from notifications.tokens import GRAPH_SCOPE, ClientCredentialsTokens

CARD = "application/vnd.microsoft.card.adaptive"
ANNA = "aaaaaaaa-0000-0000-0000-000000000001"
PEOPLE = [{"name": "Anna Andersen", "email": "anna@kk.example", "teams_user_id": ANNA}]
BOT_EXPAND = "teamsAppDefinition($expand=bot)"


class Microsoft365:
    """The emulator on a local server, with the service's Graph client and a raw HTTP client."""

    def __init__(self, emulator: Emulator, base: str, http: aiohttp.ClientSession) -> None:
        self.emulator, self.base, self.http = emulator, base, http
        config = emulator.config
        self.tokens = ClientCredentialsTokens(http, token_url=f"{base}/{config.tenant_id}/oauth2/v2.0/token",
                                              client_id=config.bot_app_id, client_secret=config.bot_app_secret)
        self.graph = graph_client(self.tokens, f"{base}/v1.0")

    async def get(self, path: str, params: dict | None = None) -> httpx.Response:
        """A raw Graph GET, with the app's token."""
        headers = {"Authorization": f"Bearer {await self.tokens.token(GRAPH_SCOPE)}"}
        async with httpx.AsyncClient(base_url=f"{self.base}/v1.0") as client:
            return await client.get(path, params=params, headers=headers)

    async def post_card(self, number: int) -> str:
        """The bot posts card ``varsel-<number>`` in Anna's chat (Bot Connector); its activity id."""
        conversation = self.emulator.personal_conversation(ANNA)["id"]
        headers = {"Authorization": f"Bearer {await self.tokens.token('https://api.botframework.com/.default')}"}
        activity = {"type": "message", "attachments": [{"contentType": CARD, "content": card(number)}]}
        async with self.http.post(f"{self.base}/connector/v3/conversations/{conversation}/activities",
                                  json=activity, headers=headers) as response:
            assert response.status in (200, 201), await response.text()
            return (await response.json())["id"]

    async def chat_id(self) -> str:
        installed = self.graph.users.by_user_id(ANNA).teamwork.installed_apps
        (app,) = (await installed.get(request_configuration=expand_bot())).value
        return (await installed.by_user_scope_teams_app_installation_id(app.id).chat.get()).id


def card(number: int) -> dict:
    return {"type": "AdaptiveCard", "version": "1.5",
            "body": [{"type": "TextBlock", "id": f"varsel-{number}", "text": f"Varsel {number}"}]}


def expand_bot() -> RequestConfiguration:
    query = InstalledAppsRequestBuilder.InstalledAppsRequestBuilderGetQueryParameters(expand=[BOT_EXPAND])
    return RequestConfiguration(query_parameters=query)


def markers(body: dict) -> list[str]:
    return [json.loads(m["attachments"][0]["content"])["body"][0]["id"] for m in body["value"]]


def assert_graph_error(response: httpx.Response, status: int, code: str) -> dict:
    """Graph's error shape (errors page, "Error resource type"): {"error": {"code", "message",
    "innerError": {"date", "request-id", "client-request-id"}}}."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])
    return error


@pytest.fixture
async def make_m365(aiohttp_server):
    sessions = []

    async def make(**config) -> Microsoft365:
        config.setdefault("people", PEOPLE)
        emulator = Emulator(EmulatorConfig(**config))
        server = await aiohttp_server(create_emulator_app(emulator))
        base = str(server.make_url("")).rstrip("/")
        emulator.base_url = base
        sessions.append(aiohttp.ClientSession())
        return Microsoft365(emulator, base, sessions[-1])

    yield make
    for session in sessions:
        await session.close()


@pytest.fixture
async def m365(make_m365) -> Microsoft365:
    return await make_m365()


# --- users/{id}/teamwork/installedApps --------------------------------------------------------

async def test_installed_apps_expand_the_definition_and_its_bot(m365):
    # userteamwork-list-installedapps, "Optional query parameters": $expand is supported;
    # resources/teamsappdefinition, "Relationships": bot (teamworkBot) is a navigation property.
    await m365.post_card(1)
    page = await m365.graph.users.by_user_id(ANNA).teamwork.installed_apps.get(request_configuration=expand_bot())
    (app,) = page.value
    assert app.teams_app_definition.bot.id == m365.emulator.config.bot_app_id


async def test_installed_apps_without_expand_carry_no_definition(m365):
    # userteamwork-list-installedapps, Example 1: without $expand an installation is its id only.
    await m365.post_card(1)
    response = await m365.get(f"/users/{ANNA}/teamwork/installedApps")
    (app,) = response.json()["value"]
    assert app["id"] and "teamsAppDefinition" not in app and "teamsApp" not in app


async def test_installed_apps_refuse_an_expand_of_an_unknown_property(m365):
    # query-parameters, "expand parameter" (https://learn.microsoft.com/en-us/graph/query-parameters#expand-parameter):
    # only the resource's relationships expand; anything else is a 400 Bad Request (errors page).
    await m365.post_card(1)
    response = await m365.get(f"/users/{ANNA}/teamwork/installedApps", {"$expand": "teamsAppDefinition($expand=robot)"})
    error = assert_graph_error(response, 400, "BadRequest")
    assert "robot" in error["message"]


async def test_installed_apps_filter_on_the_apps_external_id(m365):
    # userteamwork-list-installedapps, "Optional query parameters" ($filter) and Example 3
    # ($filter=teamsApp/externalId eq '…').
    await m365.post_card(1)
    external = m365.emulator.config.bot_app_id
    mine = await m365.get(f"/users/{ANNA}/teamwork/installedApps",
                          {"$expand": "teamsApp", "$filter": f"teamsApp/externalId eq '{external}'"})
    other = await m365.get(f"/users/{ANNA}/teamwork/installedApps",
                           {"$expand": "teamsApp", "$filter": "teamsApp/externalId eq 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee'"})
    assert [a["teamsApp"]["externalId"] for a in mine.json()["value"]] == [external]
    assert other.json()["value"] == []


async def test_installed_apps_need_a_teams_app_installation_permission(make_m365):
    # userteamwork-list-installedapps, "Permissions" (application): TeamsAppInstallation.ReadForUser.All
    # or a higher one; Chat.Read.All alone is not one of them: 403 Forbidden.
    m365 = await make_m365(graph_permissions=["Chat.Read.All"])
    await m365.post_card(1)
    with pytest.raises(ODataError) as refused:
        await m365.graph.users.by_user_id(ANNA).teamwork.installed_apps.get(request_configuration=expand_bot())
    assert refused.value.response_status_code == 403


# --- users/{id}/teamwork/installedApps/{id}/chat ----------------------------------------------

async def test_the_installations_chat_is_the_one_on_one_chat(m365):
    # userscopeteamsappinstallation-get-chat, "Response": 200 OK and a chat object
    # ("@odata.context": "…$metadata#chats/$entity").
    await m365.post_card(1)
    installed = await m365.get(f"/users/{ANNA}/teamwork/installedApps")
    (app,) = installed.json()["value"]
    response = await m365.get(f"/users/{ANNA}/teamwork/installedApps/{app['id']}/chat")
    assert response.status_code == 200
    chat = response.json()
    assert chat["@odata.context"].endswith("$metadata#chats/$entity")
    assert chat["chatType"] == "oneOnOne" and chat["id"] == await m365.chat_id()


async def test_the_installations_chat_takes_select(m365):
    # userscopeteamsappinstallation-get-chat, "Optional query parameters": $select.
    await m365.post_card(1)
    (app,) = (await m365.get(f"/users/{ANNA}/teamwork/installedApps")).json()["value"]
    chat = (await m365.get(f"/users/{ANNA}/teamwork/installedApps/{app['id']}/chat", {"$select": "id"})).json()
    assert set(chat) == {"@odata.context", "id"}


async def test_the_installations_chat_is_not_readable_with_consent_permission_alone(make_m365):
    # The two pages' "Permissions" differ: TeamsAppInstallation.ReadWriteAndConsentForUser.All is
    # listed for userteamwork-list-installedapps but not for userscopeteamsappinstallation-get-chat.
    m365 = await make_m365(graph_permissions=["TeamsAppInstallation.ReadWriteAndConsentForUser.All"])
    await m365.post_card(1)
    listed = await m365.get(f"/users/{ANNA}/teamwork/installedApps")
    assert listed.status_code == 200
    (app,) = listed.json()["value"]
    assert_graph_error(await m365.get(f"/users/{ANNA}/teamwork/installedApps/{app['id']}/chat"), 403, "Forbidden")


async def test_an_unknown_installation_has_no_chat(m365):
    # errors page: 404 Not Found, "The requested resource doesn't exist."
    await m365.post_card(1)
    assert_graph_error(await m365.get(f"/users/{ANNA}/teamwork/installedApps/bm9wZQ/chat"), 404, "NotFound")


# --- chats/{id}/messages ---------------------------------------------------------------------

async def test_messages_filtered_by_created_after_are_refused(m365):
    # chat-list-messages, "Optional query parameters", $filter: "The createdDateTime property
    # supports the lt operator" - gt is refused, 400 with Graph's own wording (as reported in
    # microsoftgraph/microsoft-graph-docs issue 20146). This is the read-back's query before the fix.
    await m365.post_card(1)
    query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
        top=50, orderby=["createdDateTime desc"], filter="createdDateTime gt 2020-01-01T00:00:00Z")
    with pytest.raises(ODataError) as refused:
        await m365.graph.chats.by_chat_id(await m365.chat_id()).messages.get(
            request_configuration=RequestConfiguration(query_parameters=query))
    assert refused.value.response_status_code == 400
    assert refused.value.error.message == ("The entity property 'createdDateTime' and operationKind "
                                           "'GreaterThan' is not allowed in $filter query.")


async def test_messages_filtered_with_le_are_refused(m365):
    # chat-list-messages, $filter: lastModifiedDateTime takes gt and lt only (issue 20146: le refused).
    await m365.post_card(1)
    response = await m365.get(f"/chats/{await m365.chat_id()}/messages", {
        "$orderby": "lastModifiedDateTime desc", "$filter": "lastModifiedDateTime le 2020-01-01T00:00:00Z"})
    error = assert_graph_error(response, 400, "BadRequest")
    assert "LessThanOrEqual" in error["message"]


async def test_messages_filter_on_last_modified_after_keeps_later_changes(m365):
    # chat-list-messages, Example 4: $orderby=lastModifiedDateTime desc with
    # $filter=lastModifiedDateTime gt … returns the messages changed after the bound.
    await m365.post_card(1)
    chat_id = await m365.chat_id()
    params = {"$orderby": "lastModifiedDateTime desc"}
    future = await m365.get(f"/chats/{chat_id}/messages", {**params, "$filter": "lastModifiedDateTime gt 2999-01-01T00:00:00Z"})
    past = await m365.get(f"/chats/{chat_id}/messages", {**params, "$filter": "lastModifiedDateTime gt 2000-01-01T00:00:00Z"})
    assert future.json()["value"] == [] and markers(past.json()) == ["varsel-1"]


async def test_messages_filter_on_created_before_keeps_earlier_posts(m365):
    # chat-list-messages, $filter: createdDateTime with lt, together with $orderby=createdDateTime desc.
    await m365.post_card(1)
    chat_id = await m365.chat_id()
    params = {"$orderby": "createdDateTime desc"}
    before_all = await m365.get(f"/chats/{chat_id}/messages", {**params, "$filter": "createdDateTime lt 2000-01-01T00:00:00Z"})
    before_now = await m365.get(f"/chats/{chat_id}/messages", {**params, "$filter": "createdDateTime lt 2999-01-01T00:00:00Z"})
    assert before_all.json()["value"] == [] and markers(before_now.json()) == ["varsel-1"]


async def test_a_filter_without_orderby_on_its_property_is_ignored(m365):
    # chat-list-messages, $filter: "You can only filter results if the request URL contains the
    # $orderBy and $filter query parameters configured for the same property; otherwise, the
    # $filter query option is ignored."
    await m365.post_card(1)
    chat_id = await m365.chat_id()
    bound = "lastModifiedDateTime gt 2999-01-01T00:00:00Z"
    alone = await m365.get(f"/chats/{chat_id}/messages", {"$filter": bound})
    other_order = await m365.get(f"/chats/{chat_id}/messages", {"$orderby": "createdDateTime desc", "$filter": bound})
    assert markers(alone.json()) == ["varsel-1"] and markers(other_order.json()) == ["varsel-1"]


async def test_messages_are_ordered_by_last_change_by_default(m365):
    # chat-list-messages, $orderby: lastModifiedDateTime is the default (descending): a card
    # replaced in place after a later post comes first.
    first = await m365.post_card(1)
    await m365.post_card(2)
    conversation = m365.emulator.personal_conversation(ANNA)["id"]
    m365.emulator.update_activity(conversation, first, {"type": "message", "attachments": [
        {"contentType": CARD, "content": card(1)}]})
    one, two = m365.emulator.chats[ANNA]  # distinct moments, whatever the clock's resolution
    one["posted_at"], two["posted_at"], one["updated_at"] = (
        "2026-01-01T10:00:00.000Z", "2026-01-01T10:01:00.000Z", "2026-01-01T10:02:00.000Z")
    chat_id = await m365.chat_id()
    by_default = await m365.get(f"/chats/{chat_id}/messages")
    by_creation = await m365.get(f"/chats/{chat_id}/messages", {"$orderby": "createdDateTime desc"})
    assert markers(by_default.json()) == ["varsel-1", "varsel-2"]
    assert markers(by_creation.json()) == ["varsel-2", "varsel-1"]


async def test_ascending_order_is_refused(m365):
    # chat-list-messages, $orderby: "The ascending order is currently not supported" (OData reads
    # an $orderby without a direction as ascending).
    await m365.post_card(1)
    chat_id = await m365.chat_id()
    assert_graph_error(await m365.get(f"/chats/{chat_id}/messages", {"$orderby": "createdDateTime asc"}), 400, "BadRequest")
    assert_graph_error(await m365.get(f"/chats/{chat_id}/messages", {"$orderby": "createdDateTime"}), 400, "BadRequest")


async def test_more_than_50_a_page_is_refused(m365):
    # chat-list-messages, $top: "Maximum allowed $top value is 50."
    await m365.post_card(1)
    error = assert_graph_error(await m365.get(f"/chats/{await m365.chat_id()}/messages", {"$top": "51"}), 400, "BadRequest")
    assert "The limit of '50' for Top query has been exceeded" in error["message"]


async def test_pages_of_50_are_linked_by_next_link(m365):
    # chat-list-messages, $top (at most 50 a response) and paging (https://learn.microsoft.com/en-us/graph/paging):
    # the rest comes by @odata.nextLink, newest first throughout.
    conversation = m365.emulator.personal_conversation(ANNA)["id"]
    for number in range(55):  # stored directly: the Bot Connector would throttle 55 posts at once
        m365.emulator.post_activity(conversation, {"type": "message", "attachments": [
            {"contentType": CARD, "content": card(number)}]})
    query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=50, orderby=["createdDateTime desc"])
    messages = m365.graph.chats.by_chat_id(await m365.chat_id()).messages
    first = await messages.get(request_configuration=RequestConfiguration(query_parameters=query))
    assert len(first.value) == 50 and first.odata_next_link
    second = await messages.with_url(first.odata_next_link).get()
    assert len(second.value) == 5 and not second.odata_next_link
    ids = [json.loads(m.attachments[0].content)["body"][0]["id"] for m in first.value + second.value]
    assert ids == [f"varsel-{n}" for n in range(54, -1, -1)]


async def test_other_query_options_are_refused(m365):
    # chat-list-messages: "The other OData query parameters are not currently supported."
    await m365.post_card(1)
    chat_id = await m365.chat_id()
    for option, value in (("$select", "id"), ("$skip", "1"), ("$expand", "replies")):
        error = assert_graph_error(await m365.get(f"/chats/{chat_id}/messages", {option: value}), 400, "BadRequest")
        assert "is not allowed" in error["message"]


async def test_messages_need_chat_read_all(make_m365):
    # chat-list-messages, "Permissions" (application): Chat.Read.All or Chat.ReadWrite.All.
    m365 = await make_m365(graph_permissions=["TeamsAppInstallation.ReadForUser.All"])
    await m365.post_card(1)
    error = assert_graph_error(await m365.get(f"/chats/{await m365.chat_id()}/messages"), 403, "Forbidden")
    assert "Chat.Read.All" in error["message"]


async def test_created_is_when_teams_took_the_message(m365):
    # chat-list-messages, Example 1: createdDateTime is the message's creation in Teams, not a
    # timestamp the bot put on its activity.
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    conversation = m365.emulator.personal_conversation(ANNA)["id"]
    headers = {"Authorization": f"Bearer {await m365.tokens.token('https://api.botframework.com/.default')}"}
    activity = {"type": "message", "text": "Hej", "timestamp": "2001-01-01T00:00:00.000Z"}
    async with m365.http.post(f"{m365.base}/connector/v3/conversations/{conversation}/activities",
                              json=activity, headers=headers) as response:
        assert response.status in (200, 201)
    (message,) = (await m365.get(f"/chats/{await m365.chat_id()}/messages")).json()["value"]
    assert dt.datetime.fromisoformat(message["createdDateTime"].replace("Z", "+00:00")) >= before
