"""Microsoft Graph (Teams chats): what the bot has posted in a person's chat, read back.

- `GET /v1.0/users/{id}/teamwork/installedApps` (https://learn.microsoft.com/en-us/graph/api/userteamwork-list-installedapps):
  the apps installed in the user's personal scope, with `$expand` (`teamsApp`,
  `teamsAppDefinition($expand=bot)`, `chat`), `$select` and `$filter` on `teamsApp/externalId`
  or `teamsApp/id`. Our bot counts as installed for a user once it has a personal chat with them
  (Teams installs it first).
- `GET /v1.0/users/{id}/teamwork/installedApps/{installation-id}/chat`
  (https://learn.microsoft.com/en-us/graph/api/userscopeteamsappinstallation-get-chat): the chat
  between the user and the app, with `$select`.
- `GET /v1.0/chats/{chat-id}/messages` (https://learn.microsoft.com/en-us/graph/api/chat-list-messages):
  its messages, newest first, with the query options exactly as Graph takes them
  (`chat_query.py`: `$top` up to 50, default 20; `$orderby` descending on `lastModifiedDateTime`,
  the default, or `createdDateTime`; `$filter` `lastModifiedDateTime gt/lt` or
  `createdDateTime lt`, applied only with `$orderby` on the same property), pages linked by
  `@odata.nextLink`. A bot's card comes back as Graph shows it: an `<attachment id>` in the body
  and the card as a JSON string in `attachments[].content`; a card replaced in place shows its
  newest version and a later `lastModifiedDateTime`.

Permissions (application) as each page lists them, else 403. Each request counts against the
app's Graph limit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from aiohttp import web

from . import chat_query
from .chat_query import QueryRefusal
from .graph_routes import authorize
from .http_common import emulator_of, graph_error, note, skip_offset, skiptoken
from .teams_activities import personal_conversation_id
from .tokens import app_id_of

routes = web.RouteTableDef()

# "List apps installed for user", Permissions (application).
INSTALLATION_LIST = frozenset({
    "TeamsAppInstallation.ReadForUser.All", "TeamsAppInstallation.ReadWriteSelfForUser.All",
    "TeamsAppInstallation.ReadWriteAndConsentForUser.All", "TeamsAppInstallation.ReadWriteAndConsentSelfForUser.All",
    "TeamsAppInstallation.ReadWriteForUser.All", "TeamsAppInstallation.ReadWriteSelectedForUser.All",
})
# "Get one-on-one chat between the specified user and Teams app", Permissions (application).
INSTALLATION_CHAT = frozenset({
    "TeamsAppInstallation.ReadForUser.All", "TeamsAppInstallation.Read.All",
    "TeamsAppInstallation.ReadWriteForUser.All", "TeamsAppInstallation.ReadWriteSelectedForUser.All",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
})
# "List messages in a chat", Permissions (application; ChatMessage.Read.Chat is granted per chat
# by resource-specific consent, which the emulator does not model).
CHAT_READ = frozenset({"Chat.Read.All", "Chat.ReadWrite.All"})
CHAT_PROPERTIES = frozenset({"id", "topic", "createdDateTime", "lastUpdatedDateTime", "chatType", "webUrl",
                             "tenantId", "onlineMeetingInfo", "viewpoint", "isHiddenForAllMembers"})
INSTALLATION_PROPERTIES = frozenset({"id", "consentedPermissionSet"}) | chat_query.INSTALLATION_NAVIGATION
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def _permitted(request: web.Request, needed: frozenset[str]) -> dict | web.Response:
    claims = authorize(request)
    if isinstance(claims, web.Response):
        return claims
    if not set(claims.get("roles") or []) & needed:
        return graph_error(request, 403, "Forbidden", "Missing role permissions on the request. "
                           f"API requires one of '{', '.join(sorted(needed))}'.")
    emulator = emulator_of(request)
    quotas = emulator.quotas
    wait = quotas.acquire([quotas.graph_app_use(app_id_of(claims) or "")])
    if wait:
        return graph_error(request, 429, "TooManyRequests", "Too many requests.", retry_after=wait)
    return claims


def _installation_id(user_id: str, app_id: str) -> str:
    return base64.urlsafe_b64encode(f"{user_id}##{app_id}".encode()).decode().rstrip("=")


def _chat_id(user_id: str, bot_app_id: str) -> str:
    return f"19:{user_id}_{bot_app_id}@unq.gbl.spaces"


def _user_of_chat(chat_id: str, bot_app_id: str) -> str | None:
    match = re.fullmatch(r"19:([0-9a-fA-F-]{36})_" + re.escape(bot_app_id) + r"@unq\.gbl\.spaces", chat_id)
    return match.group(1) if match else None


def _installed(emulator, user_id: str) -> bool:
    return personal_conversation_id(emulator.config.tenant_id, emulator.config.bot_app_id, user_id) in emulator.conversations


def _teams_app(emulator) -> dict:
    bot = emulator.config.bot_app_id
    catalog_id = str(hashlib.sha256(f"catalog|{bot}".encode()).hexdigest()[:32])
    return {"id": catalog_id, "externalId": bot, "displayName": emulator.config.bot_name,
            "distributionMethod": "organization"}


def _refused(request: web.Request, refusal: QueryRefusal) -> web.Response:
    return graph_error(request, refusal.status, refusal.code, refusal.message)


def _chat(emulator, user_id: str, select: frozenset[str] | None) -> dict:
    conversation = emulator.conversations[personal_conversation_id(emulator.config.tenant_id, emulator.config.bot_app_id, user_id)]
    chat = {"id": _chat_id(user_id, emulator.config.bot_app_id), "topic": None,
            "createdDateTime": conversation["created_at"], "lastUpdatedDateTime": conversation["created_at"],
            "chatType": "oneOnOne", "webUrl": None, "tenantId": emulator.config.tenant_id,
            "onlineMeetingInfo": None, "viewpoint": None, "isHiddenForAllMembers": False}
    return chat if select is None else {k: v for k, v in chat.items() if k in select}


def _installation(emulator, user_id: str, expand: dict[str, dict]) -> dict:
    bot = emulator.config.bot_app_id
    app = {"id": _installation_id(user_id, bot), "consentedPermissionSet": None}
    if "teamsApp" in expand:
        app["teamsApp"] = _teams_app(emulator)
    if "teamsAppDefinition" in expand:
        definition = {"id": _installation_id("definition", bot), "teamsAppId": _teams_app(emulator)["id"],
                      "displayName": emulator.config.bot_name, "version": "1.0.0"}
        if "bot" in expand["teamsAppDefinition"]:
            definition["bot"] = {"id": bot}
        app["teamsAppDefinition"] = definition
    if "chat" in expand:
        app["chat"] = _chat(emulator, user_id, None)
    return app


@routes.get("/v1.0/users/{user_id}/teamwork/installedApps", name="graph:user_installed_apps")
async def list_installed_apps(request: web.Request) -> web.Response:
    claims = _permitted(request, INSTALLATION_LIST)
    if isinstance(claims, web.Response):
        return claims
    emulator = emulator_of(request)
    user_id = request.match_info["user_id"]
    if emulator.config.person_by_user_id(user_id) is None:
        return graph_error(request, 404, "NotFound", f"User '{user_id}' was not found.")
    expand = chat_query.installation_expand(request.query)
    if isinstance(expand, QueryRefusal):
        return _refused(request, expand)
    if {"colorIcon", "outlineIcon"} & set(expand.get("teamsAppDefinition", {})):
        return graph_error(request, 501, "NotImplemented", "The emulator does not model app icons.")
    select = chat_query.selected(request.query, INSTALLATION_PROPERTIES, "userScopeTeamsAppInstallation")
    if isinstance(select, QueryRefusal):
        return _refused(request, select)
    wanted = chat_query.installation_filter(request.query)
    if isinstance(wanted, QueryRefusal):
        return _refused(request, wanted)
    apps = []
    if _installed(emulator, user_id):
        app = _installation(emulator, user_id, expand)
        teams_app = _teams_app(emulator)
        if wanted is None or teams_app[wanted[0].split("/")[1]] == wanted[1]:
            apps.append(app if select is None else {k: v for k, v in app.items() if k in select or k in expand})
    note(request, user_id=user_id)
    return web.json_response({"@odata.context": f"{emulator.base_url}/v1.0/$metadata#users('{user_id}')/teamwork/installedApps",
                              "value": apps})


@routes.get("/v1.0/users/{user_id}/teamwork/installedApps/{installation_id}/chat", name="graph:installed_app_chat")
async def installed_app_chat(request: web.Request) -> web.Response:
    claims = _permitted(request, INSTALLATION_CHAT)
    if isinstance(claims, web.Response):
        return claims
    emulator = emulator_of(request)
    user_id, bot = request.match_info["user_id"], emulator.config.bot_app_id
    if request.match_info["installation_id"] != _installation_id(user_id, bot) or not _installed(emulator, user_id):
        return graph_error(request, 404, "NotFound", "The app installation was not found.")
    select = chat_query.selected(request.query, CHAT_PROPERTIES, "chat")
    if isinstance(select, QueryRefusal):
        return _refused(request, select)
    note(request, user_id=user_id)
    return web.json_response({"@odata.context": f"{emulator.base_url}/v1.0/$metadata#chats/$entity",
                              **_chat(emulator, user_id, select)})


def _graph_message(entry: dict, chat_id: str, bot_app_id: str, bot_name: str) -> dict:
    activity = entry["activity"]
    attachments, body = [], []
    for index, attachment in enumerate(activity.get("attachments") or []):
        attachment_id = hashlib.sha256(f"{entry['id']}|{index}".encode()).hexdigest()[:32]
        content = attachment.get("content")
        attachments.append({
            "id": attachment_id, "contentType": attachment.get("contentType"), "contentUrl": None,
            "content": json.dumps(content) if content is not None and attachment.get("contentType") == ADAPTIVE_CARD else content,
            "name": None, "thumbnailUrl": None, "teamsAppId": None})
        body.append(f'<attachment id="{attachment_id}"></attachment>')
    text = activity.get("text") or ""
    return {
        "id": entry["id"], "replyToId": None, "etag": str(entry["version"]), "messageType": "message",
        "createdDateTime": entry["posted_at"], "lastModifiedDateTime": entry["updated_at"] or entry["posted_at"],
        "lastEditedDateTime": entry["updated_at"], "deletedDateTime": entry["updated_at"] if entry["deleted"] else None,
        "subject": None, "summary": activity.get("summary"), "chatId": chat_id, "importance": "normal", "locale": "en-us",
        "from": {"user": None, "device": None,
                 "application": {"id": bot_app_id, "displayName": bot_name, "applicationIdentityType": "bot"}},
        "body": {"contentType": "html", "content": (text + "".join(body)) if body else text},
        "attachments": attachments, "mentions": [], "reactions": [],
    }


@routes.get("/v1.0/chats/{chat_id}/messages", name="graph:chat_messages")
async def chat_messages(request: web.Request) -> web.Response:
    claims = _permitted(request, CHAT_READ)
    if isinstance(claims, web.Response):
        return claims
    emulator = emulator_of(request)
    chat_id, bot = request.match_info["chat_id"], emulator.config.bot_app_id
    user_id = _user_of_chat(chat_id, bot)
    if user_id is None or not _installed(emulator, user_id):
        return graph_error(request, 404, "NotFound", f"Chat '{chat_id}' was not found.")
    asked = chat_query.message_query(request.query)
    if isinstance(asked, QueryRefusal):
        return _refused(request, asked)
    token = chat_query.options(request.query).get("$skiptoken")
    offset = 0 if token is None else skip_offset(token, chat_id)
    if offset is None:
        return graph_error(request, 400, "BadRequest", "Invalid $skiptoken.")
    field = asked.order_field
    messages = [_graph_message(entry, chat_id, bot, emulator.config.bot_name) for entry in emulator.chats.get(user_id, [])]
    # Newest first; messages of one millisecond in the order they were posted, newest first.
    ordered = sorted(((chat_query.moment(m[field]), position, m) for position, m in enumerate(messages)
                      if chat_query.kept(chat_query.moment(m[field]), asked.conditions)),
                     key=lambda t: t[:2], reverse=True)
    messages = [m for _, _, m in ordered]
    page = messages[offset:offset + asked.top]
    body = {"@odata.context": f"{emulator.base_url}/v1.0/$metadata#chats('{chat_id}')/messages", "value": page}
    if offset + asked.top < len(messages):
        params = {k: v for k, v in request.query.items() if k.lower() != "$skiptoken"}
        params["$skiptoken"] = skiptoken(chat_id, offset + asked.top)
        body["@odata.nextLink"] = str(request.url.with_query(params))
    note(request, user_id=user_id)
    return web.json_response(body)
