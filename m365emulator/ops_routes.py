"""Endpoints for tests and demos under `/_emulator/`: records, state, faults, reset, acting as a user."""

from __future__ import annotations

import json

import aiohttp
from aiohttp import web

from .card_refresh import open_chat
from .faults import Faults
from .http_common import emulator_of, read_json
from .records import API_NAMES
from .tokens import BOTFRAMEWORK_TENANT

routes = web.RouteTableDef()


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


@routes.get("/_emulator/config")
async def emulator_config(request: web.Request) -> web.Response:
    """Where everything is, for wiring a service to this emulator (no secrets)."""
    emulator = emulator_of(request)
    config = emulator.config
    base = emulator.base_url
    return web.json_response(
        {
            "base_url": base,
            "tenant_id": config.tenant_id,
            "bot_app_id": config.bot_app_id,
            "graph_client_id": config.graph_client_id,
            "token_url": f"{base}/{config.tenant_id}/oauth2/v2.0/token",
            "bot_token_url": f"{base}/{BOTFRAMEWORK_TENANT}/oauth2/v2.0/token",
            "graph_base_url": f"{base}/v1.0",
            "connector_url": emulator.service_url,
            "bot_openid_metadata_url": f"{base}/botframework/v1/.well-known/openidconfiguration",
            "bot_endpoint": config.bot_endpoint,
            "limits": config.limits,
        }
    )


@routes.get("/_emulator/requests")
async def list_requests(request: web.Request) -> web.Response:
    api = request.query.get("api")
    if api is not None and api not in API_NAMES:
        return _bad_request(f"api must be one of {sorted(API_NAMES)}")
    return web.json_response(emulator_of(request).log.select(api), dumps=_dumps)


@routes.post("/_emulator/reset")
async def reset(request: web.Request) -> web.Response:
    emulator_of(request).reset()
    return web.json_response({"reset": True})


@routes.get("/_emulator/mailboxes")
async def list_mailboxes(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    return web.json_response({address: len(messages) for address, messages in sorted(emulator.mailboxes.items())})


@routes.get("/_emulator/mailboxes/{address}")
async def mailbox(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    address = emulator.mailbox_address(request.match_info["address"])
    person = emulator.config.person_by_email(address) or {}
    return web.json_response(
        {
            "address": address,
            "name": person.get("name"),
            "messages": emulator.mailboxes.get(address, []),
            "sent_items": emulator.sent_items.get(address, []),
        }
    )


@routes.get("/_emulator/chats")
async def list_chats(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    return web.json_response({user_id: len(entries) for user_id, entries in sorted(emulator.chats.items())})


@routes.get("/_emulator/chats/{user_id}")
async def chat(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    user_id = request.match_info["user_id"]
    conversation = next((c for c in emulator.conversations.values() if c["user_id"] == user_id), None)
    return web.json_response(
        {
            "user_id": user_id,
            "name": emulator.user_name(user_id),
            "conversation_id": conversation["id"] if conversation else None,
            "activities": emulator.chats.get(user_id, []),
            "to_bot": [entry for entry in emulator.to_bot if entry["user_id"] == user_id],
        },
        dumps=_dumps,
    )


async def _to_bot(request: web.Request, send) -> web.Response:
    if not emulator_of(request).config.bot_endpoint:
        return web.json_response({"error": "no bot endpoint is configured"}, status=409)
    try:
        status, body = await send()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return web.json_response({"error": f"the bot could not be reached: {exc}"}, status=502)
    return web.json_response({"status": status, "body": body})


@routes.post("/_emulator/chats/{user_id}/messages")
async def user_sends_message(request: web.Request) -> web.Response:
    """Act as the user: `{"text": ..., "value": {...}, "reply_to_id": ...}` goes to the bot."""
    try:
        data = await read_json(request)
    except ValueError:
        return _bad_request("expected JSON")
    if not isinstance(data, dict) or (data.get("text") is None and data.get("value") is None):
        return _bad_request("give text or value")
    user_id = request.match_info["user_id"]
    return await _to_bot(
        request,
        lambda: emulator_of(request).send_to_bot(
            user_id, text=data.get("text"), value=data.get("value"), reply_to_id=data.get("reply_to_id")
        ),
    )


@routes.post("/_emulator/chats/{user_id}/invoke")
async def user_invokes_action(request: web.Request) -> web.Response:
    """Act as the user pressing an Action.Execute: `{"activity_id", "verb", "data"}`."""
    try:
        data = await read_json(request)
    except ValueError:
        return _bad_request("expected JSON")
    if not isinstance(data, dict) or not data.get("verb"):
        return _bad_request("give verb (and activity_id, data)")
    action = {"type": "Action.Execute", "verb": data["verb"], "data": data.get("data") or {}}
    user_id = request.match_info["user_id"]
    return await _to_bot(
        request,
        lambda: emulator_of(request).send_to_bot(
            user_id, invoke_value={"action": action}, reply_to_id=data.get("activity_id")
        ),
    )


@routes.post("/_emulator/chats/{user_id}/install")
async def user_installs_bot(request: web.Request) -> web.Response:
    user_id = request.match_info["user_id"]
    emulator_of(request).bot_removed.pop(user_id, None)
    return await _to_bot(request, lambda: emulator_of(request).send_install_update(user_id))


@routes.post("/_emulator/chats/{user_id}/block")
async def user_blocks_bot(request: web.Request) -> web.Response:
    """Act as the user blocking the bot: its writes to the chat get 403 MessageWritesBlocked."""
    emulator_of(request).remove_bot(request.match_info["user_id"], "blocked")
    return web.json_response({"user_id": request.match_info["user_id"], "bot": "blocked"})


@routes.post("/_emulator/chats/{user_id}/uninstall")
async def user_uninstalls_bot(request: web.Request) -> web.Response:
    """Act as the user removing the bot: no longer installed, writes get 403 MessageWritesBlocked."""
    emulator_of(request).remove_bot(request.match_info["user_id"], "uninstalled")
    return web.json_response({"user_id": request.match_info["user_id"], "bot": "uninstalled"})


@routes.delete("/_emulator/chats/{user_id}/block")
async def user_unblocks_bot(request: web.Request) -> web.Response:
    emulator_of(request).bot_removed.pop(request.match_info["user_id"], None)
    return web.json_response({"user_id": request.match_info["user_id"], "bot": "allowed"})


@routes.post("/_emulator/chats/{user_id}/open")
async def user_opens_chat(request: web.Request) -> web.Response:
    """Act as the user opening the chat: cards refresh for them as the Teams client would."""
    emulator = emulator_of(request)
    if not emulator.config.bot_endpoint:
        return web.json_response({"error": "no bot endpoint is configured"}, status=409)
    try:
        result = await open_chat(emulator, request.match_info["user_id"])
    except (aiohttp.ClientError, TimeoutError) as exc:
        return web.json_response({"error": f"the bot could not be reached: {exc}"}, status=502)
    return web.json_response(result)


@routes.get("/_emulator/faults")
async def get_faults(request: web.Request) -> web.Response:
    faults = emulator_of(request).faults
    return web.json_response(faults.to_json() if faults else None)


@routes.post("/_emulator/faults")
@routes.put("/_emulator/faults")
async def set_faults(request: web.Request) -> web.Response:
    try:
        data = await read_json(request)
        faults = Faults.from_json(data)
    except ValueError as exc:
        return _bad_request(str(exc))
    emulator_of(request).set_faults(faults, seed=data.get("seed"))
    return web.json_response(faults.to_json())


@routes.delete("/_emulator/faults")
async def clear_faults(request: web.Request) -> web.Response:
    emulator_of(request).clear_faults()
    return web.json_response(None)


@routes.get("/_emulator/directory")
async def directory_groups(request: web.Request) -> web.Response:
    """Entra ID's groups with their member counts."""
    directory = emulator_of(request).directory
    return web.json_response({"users": len(directory.users), "groups": directory.summary()})


@routes.post("/_emulator/directory/groups/{group_id}/members")
async def directory_add_member(request: web.Request) -> web.Response:
    """Put a user (or group) in a group: `{"id": "<object id>"}`."""
    try:
        data = await read_json(request)
        emulator_of(request).directory.add_member(request.match_info["group_id"], str((data or {}).get("id")))
    except (ValueError, AttributeError) as exc:
        return _bad_request(str(exc))
    return web.json_response({"added": True})


@routes.delete("/_emulator/directory/groups/{group_id}/members/{member_id}")
async def directory_remove_member(request: web.Request) -> web.Response:
    try:
        emulator_of(request).directory.remove_member(request.match_info["group_id"], request.match_info["member_id"])
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response({"removed": True})


@routes.patch("/_emulator/directory/users/{user_id}")
async def directory_update_user(request: web.Request) -> web.Response:
    """Change a user's properties: `{"jobTitle": "...", "accountEnabled": false, ...}`."""
    try:
        data = await read_json(request)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        user = emulator_of(request).directory.update_user(request.match_info["user_id"], **data)
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(user)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
