"""Microsoft Graph (Teams chats): what the bot has posted in a person's chat, read back.

- `GET /v1.0/users/{id}/teamwork/installedApps` (`$expand=teamsAppDefinition($expand=bot)` or
  `$expand=teamsApp`): the apps installed in the user's personal scope. Our bot counts as
  installed for a user once it has a personal chat with them (Teams installs it first).
- `GET /v1.0/users/{id}/teamwork/installedApps/{installation-id}/chat`: the chat between the
  user and the app.
- `GET /v1.0/chats/{chat-id}/messages`: its messages, newest first, `$top` up to 50 (default 20),
  `$orderby=createdDateTime desc` or `lastModifiedDateTime desc`, `$filter` on the same property
  (`gt`/`lt`, joined by `and`), pages linked by `@odata.nextLink`. A bot's card comes back as
  Graph shows it: an `<attachment id>` in the body and the card as a JSON string in
  `attachments[].content`; a card replaced in place shows its newest version.

Permissions as Graph has them: TeamsAppInstallation.ReadForUser.All (or a higher one) for the
installations and their chat, Chat.Read.All (or Chat.ReadWrite.All) for the messages; else 403.
Each request counts against the app's Graph limit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re

from aiohttp import web

from .graph_routes import authorize
from .http_common import emulator_of, graph_error, note, skip_offset, skiptoken
from .teams_activities import personal_conversation_id
from .tokens import app_id_of

routes = web.RouteTableDef()

INSTALLATION_READ = frozenset({
    "TeamsAppInstallation.ReadForUser.All", "TeamsAppInstallation.ReadWriteForUser.All",
    "TeamsAppInstallation.ReadWriteSelfForUser.All", "TeamsAppInstallation.ReadWriteAndConsentForUser.All",
})
CHAT_READ = frozenset({"Chat.Read.All", "Chat.ReadWrite.All"})
DEFAULT_TOP, MAX_TOP = 20, 50
ORDER_FIELDS = ("createdDateTime", "lastModifiedDateTime")
CONDITION = re.compile(r"^\s*(createdDateTime|lastModifiedDateTime)\s+(gt|lt)\s+(\S+)\s*$")
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
    if emulator.bot_removed.get(user_id) == "uninstalled":
        return False
    return personal_conversation_id(emulator.config.tenant_id, emulator.config.bot_app_id, user_id) in emulator.conversations


def _teams_app(emulator) -> dict:
    bot = emulator.config.bot_app_id
    catalog_id = str(hashlib.sha256(f"catalog|{bot}".encode()).hexdigest()[:32])
    return {"id": catalog_id, "externalId": bot, "displayName": emulator.config.bot_name,
            "distributionMethod": "organization"}


@routes.get("/v1.0/users/{user_id}/teamwork/installedApps", name="graph:user_installed_apps")
async def list_installed_apps(request: web.Request) -> web.Response:
    claims = _permitted(request, INSTALLATION_READ)
    if isinstance(claims, web.Response):
        return claims
    emulator = emulator_of(request)
    user_id = request.match_info["user_id"]
    if emulator.config.person_by_user_id(user_id) is None:
        return graph_error(request, 404, "NotFound", f"User '{user_id}' was not found.")
    expand = request.query.get("$expand", "")
    if "$filter" in request.query:
        return graph_error(request, 400, "BadRequest", "The emulator does not support $filter here.")
    apps = []
    if _installed(emulator, user_id):
        bot = emulator.config.bot_app_id
        app = {"id": _installation_id(user_id, bot)}
        if "teamsApp" in expand.replace("teamsAppDefinition", ""):
            app["teamsApp"] = _teams_app(emulator)
        if "teamsAppDefinition" in expand:
            definition = {"id": _installation_id("definition", bot), "teamsAppId": _teams_app(emulator)["id"],
                          "displayName": emulator.config.bot_name, "version": "1.0.0"}
            if "bot" in expand.split("teamsAppDefinition", 1)[1]:
                definition["bot"] = {"id": bot}
            app["teamsAppDefinition"] = definition
        apps.append(app)
    note(request, user_id=user_id)
    return web.json_response({"@odata.context": f"{emulator.base_url}/v1.0/$metadata#users('{user_id}')/teamwork/installedApps",
                              "value": apps})


@routes.get("/v1.0/users/{user_id}/teamwork/installedApps/{installation_id}/chat", name="graph:installed_app_chat")
async def installed_app_chat(request: web.Request) -> web.Response:
    claims = _permitted(request, INSTALLATION_READ)
    if isinstance(claims, web.Response):
        return claims
    emulator = emulator_of(request)
    user_id, bot = request.match_info["user_id"], emulator.config.bot_app_id
    if request.match_info["installation_id"] != _installation_id(user_id, bot) or not _installed(emulator, user_id):
        return graph_error(request, 404, "NotFound", "The app installation was not found.")
    conversation = emulator.conversations[personal_conversation_id(emulator.config.tenant_id, bot, user_id)]
    return web.json_response({"id": _chat_id(user_id, bot), "chatType": "oneOnOne", "topic": None,
                              "createdDateTime": conversation["created_at"], "tenantId": emulator.config.tenant_id})


def _moment(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


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
    query = request.query
    try:
        top = int(query.get("$top", DEFAULT_TOP))
    except ValueError:
        top = 0
    if not 1 <= top <= MAX_TOP:
        return graph_error(request, 400, "BadRequest", f"Invalid page size: '{query.get('$top')}'. It must be between 1 and {MAX_TOP}.")
    order = query.get("$orderby", "createdDateTime desc").strip()
    field_name, _, direction = order.partition(" ")
    if field_name not in ORDER_FIELDS or direction.strip() not in ("desc", ""):
        return graph_error(request, 400, "BadRequest", f"$orderby '{order}' is not supported: use createdDateTime desc or lastModifiedDateTime desc.")
    conditions = []
    if query.get("$filter"):
        for part in re.split(r"\s+and\s+", query["$filter"]):
            match = CONDITION.match(part)
            moment = _moment(match.group(3)) if match else None
            if match is None or moment is None or match.group(1) != field_name:
                return graph_error(request, 400, "BadRequest", "$filter supports only the $orderby property with gt or lt and a date-time.")
            conditions.append((match.group(2), moment))
    offset = skip_offset(query["$skiptoken"], chat_id) if "$skiptoken" in query else 0
    if offset is None:
        return graph_error(request, 400, "BadRequest", "Invalid $skiptoken.")
    messages = [_graph_message(entry, chat_id, bot, emulator.config.bot_name) for entry in emulator.chats.get(user_id, [])]

    def kept(message: dict) -> bool:
        moment = _moment(message[field_name])
        return all(moment > bound if op == "gt" else moment < bound for op, bound in conditions)

    # Newest first; messages of one millisecond in the order they were posted, newest first.
    order = sorted(((m[field_name], position, m) for position, m in enumerate(messages) if kept(m)), key=lambda t: t[:2], reverse=True)
    messages = [m for _, _, m in order]
    page = messages[offset:offset + top]
    body = {"@odata.context": f"{emulator.base_url}/v1.0/$metadata#chats('{chat_id}')/messages", "value": page}
    if offset + top < len(messages):
        params = {k: v for k, v in query.items() if k != "$skiptoken"}
        params["$skiptoken"] = skiptoken(chat_id, offset + top)
        body["@odata.nextLink"] = str(request.url.with_query(params))
    note(request, user_id=user_id)
    return web.json_response(body)
