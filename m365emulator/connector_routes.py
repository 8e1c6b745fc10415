"""The Bot Connector API for Teams, served under the service URL `{base}/connector/`.

Personal chats (one user and the bot) and channel threads: `POST v3/conversations` with `isGroup: true`
and `channelData.channel.id` starts a thread in a channel (see `channels.py`); the thread's
conversation id then takes replies and updates like any other conversation.
"""

from __future__ import annotations

import json

from aiohttp import web

from .channels import channel_from_parameters, is_channel_id
from .connector_checks import ActivityRejected, check_outgoing_activity
from .http_common import connector_error, emulator_of, note, read_json
from .limits import Use
from .tokens import BOT_RESOURCE, TokenRejected

routes = web.RouteTableDef()

CONVERSATIONS = "/connector/v3/conversations"
ACTIVITIES = CONVERSATIONS + "/{conversation_id}/activities"


def _authorize(request: web.Request) -> web.Response | None:
    """None if the token is ours, for the connector, issued to the bot; else the connector's 401."""
    emulator = emulator_of(request)
    try:
        emulator.check_token(
            request.headers.get("Authorization"), audiences=[BOT_RESOURCE], app_id=emulator.config.bot_app_id
        )
    except TokenRejected as exc:
        return connector_error(request, 401, "Unauthorized", f"Authorization has been denied for this request. {exc}")
    return None


def _throttled(request: web.Request, uses) -> web.Response | None:
    wait = emulator_of(request).quotas.acquire(uses)
    if wait:
        return connector_error(
            request,
            429,
            "Throttled",
            "The bot is sending too fast (per conversation: 7/1 s, 8/2 s, 60/30 s, 1,800/h; per app: 50/s).",
            retry_after=wait,
        )
    return None


def _conversation(request: web.Request) -> dict | web.Response:
    emulator = emulator_of(request)
    conversation_id = request.match_info["conversation_id"]
    note(request, conversation_id=conversation_id)
    conversation = emulator.conversations.get(conversation_id) or emulator.channel_conversation(conversation_id)
    if conversation is None:
        return connector_error(request, 404, "ConversationNotFound", f"Conversation {conversation_id} not found.")
    if "channel_id" in conversation:
        note(request, channel_id=conversation["channel_id"])
    else:
        note(request, user_id=conversation["user_id"])
    return conversation


def _writes_blocked(request: web.Request, conversation: dict) -> web.Response | None:
    """Teams' answer when the user blocked or uninstalled the bot: 403, subCode MessageWritesBlocked.

    The body is the one the Teams docs show ("Send proactive messages", section "Understand who
    blocked, muted, or uninstalled a bot"): errorCode 209 and the subCode inside `message`."""
    user_id = conversation.get("user_id")
    if not user_id or not emulator_of(request).writes_blocked(user_id):
        return None
    note(request, error_code="MessageWritesBlocked")
    detail = json.dumps(
        {"subCode": "MessageWritesBlocked", "details": "Thread is blocked from message writes.",
         "errorCode": None, "errorSubCode": None},
        indent=2,
    ).replace("\n", "\r\n")
    return web.json_response({"errorCode": 209, "message": detail}, status=403)


async def _activity_body(request: web.Request) -> dict | web.Response:
    try:
        return check_outgoing_activity(await read_json(request))
    except ValueError:
        return connector_error(request, 400, "BadSyntax", "The body is not valid JSON.")
    except ActivityRejected as exc:
        return connector_error(request, exc.status, exc.code, exc.message)


async def _guarded(request: web.Request) -> dict | web.Response:
    """Authorized, known conversation, within the limits: the conversation; else the refusal."""
    refused = _authorize(request)
    if refused:
        return refused
    conversation = _conversation(request)
    if isinstance(conversation, web.Response):
        return conversation
    if request.method in ("POST", "PUT") and (blocked := _writes_blocked(request, conversation)):
        return blocked
    quotas = emulator_of(request).quotas
    # A channel's threads are reply chains of one conversation, the channel: they share its limits.
    limited = conversation.get("channel_id") or conversation["id"]
    refused = _throttled(request, quotas.teams_activity_uses(emulator_of(request).config.bot_app_id, limited))
    return refused or conversation


@routes.post(CONVERSATIONS, name="bot:create_conversation")
async def create_conversation(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    config = emulator.config
    refused = _authorize(request) or _throttled(request, emulator.quotas.teams_create_uses(config.bot_app_id))
    if refused:
        return refused
    try:
        params = await read_json(request)
    except ValueError:
        return connector_error(request, 400, "BadSyntax", "The body is not valid JSON.")
    if not isinstance(params, dict):
        return connector_error(request, 400, "BadSyntax", "ConversationParameters must be a JSON object.")
    if params.get("isGroup") and channel_from_parameters(params) is not None:
        return _create_channel_thread(request, params)
    if params.get("isGroup"):
        return connector_error(
            request,
            400,
            "BadArgument",
            "The emulator creates personal conversations (isGroup false) and channel threads "
            "(isGroup true with channelData.channel.id) only.",
        )
    members = params.get("members") or []
    if len(members) != 1 or not isinstance(members[0], dict) or not members[0].get("id"):
        return connector_error(request, 400, "BadArgument", "A personal conversation needs exactly one member with an id.")
    channel_data = params.get("channelData") if isinstance(params.get("channelData"), dict) else {}
    tenant = params.get("tenantId") or (channel_data.get("tenant") or {}).get("id")
    if not tenant:
        return connector_error(request, 400, "BadArgument", "A tenant id is required (tenantId or channelData.tenant.id).")
    if str(tenant).lower() != config.tenant_id.lower():
        return connector_error(request, 403, "Forbidden", f"The bot is not installed in tenant {tenant}.")
    bot = params.get("bot")
    if isinstance(bot, dict) and bot.get("id") not in (None, config.bot_app_id, f"28:{config.bot_app_id}"):
        return connector_error(request, 400, "BadArgument", f"Unknown bot id {bot.get('id')}.")
    user_id = emulator.user_of_member(members[0]) or str(members[0]["id"])
    conversation = emulator.personal_conversation(user_id)
    note(request, conversation_id=conversation["id"], user_id=user_id)
    result = {"id": conversation["id"]}
    if params.get("activity") is not None:
        try:
            activity = check_outgoing_activity(params["activity"])
        except ActivityRejected as exc:
            return connector_error(request, exc.status, exc.code, exc.message)
        blocked = _writes_blocked(request, conversation)
        if blocked:
            return blocked
        result["activityId"] = emulator.post_activity(conversation["id"], activity)
        note(request, activity_id=result["activityId"])
    return web.json_response(result, status=201)


def _create_channel_thread(request: web.Request, params: dict) -> web.Response:
    """A new thread in a Teams channel, its first post being `params["activity"]`."""
    emulator = emulator_of(request)
    config = emulator.config
    channel_id = str(channel_from_parameters(params))
    note(request, channel_id=channel_id)
    channel_data = params["channelData"]
    tenant = params.get("tenantId") or (channel_data.get("tenant") or {}).get("id")
    if not tenant:
        return connector_error(request, 400, "BadArgument", "A tenant id is required (tenantId or channelData.tenant.id).")
    if str(tenant).lower() != config.tenant_id.lower():
        return connector_error(request, 403, "Forbidden", f"The bot is not installed in tenant {tenant}.")
    bot = params.get("bot")
    if isinstance(bot, dict) and bot.get("id") not in (None, config.bot_app_id, f"28:{config.bot_app_id}"):
        return connector_error(request, 400, "BadArgument", f"Unknown bot id {bot.get('id')}.")
    if not is_channel_id(channel_id):
        return connector_error(
            request, 400, "BadArgument", f"{channel_id} is not a channel id (19:...@thread.tacv2)."
        )
    if not emulator.channel_accepted(channel_id):
        return connector_error(
            request, 404, "ChannelNotFound", f"Channel {channel_id} not found, or the bot is not installed in its team."
        )
    if params.get("activity") is None:
        return connector_error(request, 400, "BadArgument", "A channel conversation needs an activity to start the thread.")
    try:
        activity = check_outgoing_activity(params["activity"])
    except ActivityRejected as exc:
        return connector_error(request, exc.status, exc.code, exc.message)
    refused = _throttled(request, [Use(emulator.quotas.teams_conversation, channel_id)])
    if refused:
        return refused
    conversation = emulator.start_channel_thread(channel_id, activity)
    note(request, conversation_id=conversation["id"], activity_id=conversation["thread_id"])
    return web.json_response({"id": conversation["id"], "activityId": conversation["thread_id"]}, status=201)


@routes.get(CONVERSATIONS + "/{conversation_id}/members", name="bot:members")
async def conversation_members(request: web.Request) -> web.Response:
    refused = _authorize(request)
    if refused:
        return refused
    conversation = _conversation(request)
    if isinstance(conversation, web.Response):
        return conversation
    emulator = emulator_of(request)
    if "channel_id" in conversation:
        # The team's members: the emulator's people with a Teams identity.
        return web.json_response(
            [
                {"id": emulator.user_mri(p["teams_user_id"]), "aadObjectId": p["teams_user_id"], "name": p.get("name") or ""}
                for p in emulator.config.people
                if p.get("teams_user_id")
            ]
        )
    user_id = conversation["user_id"]
    person = emulator.config.person_by_user_id(user_id) or {}
    member = {"id": emulator.user_mri(user_id), "aadObjectId": user_id, "name": emulator.user_name(user_id)}
    if person.get("email"):
        member.update(email=person["email"], userPrincipalName=person["email"])
    return web.json_response([member])


async def _post(request: web.Request, reply_to_id: str | None) -> web.Response:
    conversation = await _guarded(request)
    if isinstance(conversation, web.Response):
        return conversation
    activity = await _activity_body(request)
    if isinstance(activity, web.Response):
        return activity
    activity_id = emulator_of(request).post_activity(conversation["id"], activity, reply_to_id=reply_to_id)
    note(request, activity_id=activity_id)
    return web.json_response({"id": activity_id}, status=201)


@routes.post(ACTIVITIES, name="bot:send_activity")
async def send_activity(request: web.Request) -> web.Response:
    return await _post(request, None)


@routes.post(ACTIVITIES + "/{activity_id}", name="bot:reply_activity")
async def reply_activity(request: web.Request) -> web.Response:
    return await _post(request, request.match_info["activity_id"])


@routes.put(ACTIVITIES + "/{activity_id}", name="bot:update_activity")
async def update_activity(request: web.Request) -> web.Response:
    conversation = await _guarded(request)
    if isinstance(conversation, web.Response):
        return conversation
    activity_id = request.match_info["activity_id"]
    note(request, activity_id=activity_id)
    activity = await _activity_body(request)
    if isinstance(activity, web.Response):
        return activity
    try:
        emulator_of(request).update_activity(conversation["id"], activity_id, activity)
    except KeyError:
        return connector_error(request, 404, "ActivityNotFound", f"Activity {activity_id} not found.")
    return web.json_response({"id": activity_id})


@routes.delete(ACTIVITIES + "/{activity_id}", name="bot:delete_activity")
async def delete_activity(request: web.Request) -> web.Response:
    conversation = await _guarded(request)
    if isinstance(conversation, web.Response):
        return conversation
    activity_id = request.match_info["activity_id"]
    note(request, activity_id=activity_id)
    try:
        emulator_of(request).delete_activity(conversation["id"], activity_id)
    except KeyError:
        return connector_error(request, 404, "ActivityNotFound", f"Activity {activity_id} not found.")
    return web.Response(status=200)
