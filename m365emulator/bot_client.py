"""Posting signed activities from "Teams" to the bot's endpoint."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import aiohttp

from .teams_activities import ADAPTIVE_CARD, build_incoming_activity

if TYPE_CHECKING:
    from .state import Emulator

BOT_TIMEOUT = aiohttp.ClientTimeout(total=30)


async def send_user_activity(
    emulator: "Emulator",
    user_id: str,
    *,
    text: str | None = None,
    invoke_value: dict | None = None,
    reply_to_id: str | None = None,
    value: dict | None = None,
) -> tuple[int, dict | None]:
    if invoke_value is None and text is None and value is None:
        raise ValueError("give text, value (Action.Submit) or invoke_value (Action.Execute)")
    kind = "invoke" if invoke_value is not None else "message"
    activity = _activity(
        emulator,
        user_id,
        kind=kind,
        text=text,
        value=invoke_value if kind == "invoke" else value,
        reply_to_id=reply_to_id,
    )
    status, body = await post_to_bot(emulator, user_id, activity)
    if kind == "invoke" and status == 200 and reply_to_id and isinstance(body, dict):
        if body.get("type") == ADAPTIVE_CARD and isinstance(body.get("value"), dict):
            emulator.apply_card_from_invoke(user_id, reply_to_id, body["value"])
    return status, body


async def send_install_update(emulator: "Emulator", user_id: str) -> tuple[int, dict | None]:
    activity = _activity(emulator, user_id, kind="conversationUpdate")
    return await post_to_bot(emulator, user_id, activity)


def _activity(emulator: "Emulator", user_id: str, *, kind: str, **fields) -> dict:
    config = emulator.config
    conversation = emulator.personal_conversation(user_id)
    return build_incoming_activity(
        kind=kind,
        activity_id=emulator.new_activity_id(),
        user_id=user_id,
        user_name=emulator.user_name(user_id),
        conversation_id=conversation["id"],
        tenant_id=config.tenant_id,
        bot_app_id=config.bot_app_id,
        bot_name=config.bot_name,
        service_url=emulator.service_url,
        **fields,
    )


async def post_to_bot(emulator: "Emulator", user_id: str, activity: dict) -> tuple[int, dict | None]:
    """POST the activity with a fresh signed token; note it in `emulator.to_bot` and the request log."""
    endpoint = emulator.config.bot_endpoint
    if not endpoint:
        raise RuntimeError("EmulatorConfig.bot_endpoint is not set: nowhere to send the activity")
    entry = {"user_id": user_id, "activity": activity, "status": None, "response": None, "error": None}
    emulator.to_bot.append(entry)
    record = {
        "api": "to_bot",
        "ts_start": time.time(),
        "ts_end": None,
        "method": "POST",
        "path": endpoint,
        "status": None,
        "body": activity,
        "retry_after": None,
        "user_id": user_id,
        "conversation_id": activity["conversation"]["id"],
        "activity_type": activity["type"],
        "response": None,
        "error": None,
    }
    headers = {"Authorization": f"Bearer {emulator.signed_activity_token()}"}
    try:
        async with aiohttp.ClientSession(timeout=BOT_TIMEOUT) as session:
            async with session.post(endpoint, json=activity, headers=headers) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                text = await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        entry["status"] = record["status"] = 0
        entry["error"] = record["error"] = f"{type(exc).__name__}: {exc}"
        record["ts_end"] = time.time()
        emulator.log.add(record)
        raise
    body = None
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    entry["status"] = record["status"] = status
    entry["response"] = body
    record["response"] = body if body is not None else (text or None)
    record["retry_after"] = retry_after
    record["ts_end"] = time.time()
    emulator.log.add(record)
    return status, body
