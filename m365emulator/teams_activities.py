"""Activities shaped as Microsoft Teams sends them to a bot, and Teams' ids."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def personal_conversation_id(tenant_id: str, bot_app_id: str, user_id: str) -> str:
    """Stable id of the one-to-one chat between a user and the bot (Teams' form: `a:1...`)."""
    digest = hashlib.sha256(f"{tenant_id}|{bot_app_id}|{user_id}".encode()).digest()
    return "a:1" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii").replace("-", "x").replace("_", "y")


def user_mri(tenant_id: str, user_id: str) -> str:
    """The user's Teams id (MRI), as `from.id` and conversation members carry it: `29:1...`.

    Teams' MRIs are opaque: nothing of the Entra object id can be read from them, nor the other
    way round, so a bot has to learn a person's MRI from what Teams sends it."""
    digest = hashlib.sha256(f"mri|{tenant_id}|{user_id.lower()}".encode()).digest()
    return "29:1" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii").replace("-", "x").replace("_", "y")


def user_id_from_member(member: dict) -> str | None:
    """The Entra object id of a conversation member (`aadObjectId`, or `29:`/`8:orgid:` ids)."""
    if member.get("aadObjectId"):
        return str(member["aadObjectId"])
    member_id = str(member.get("id") or "")
    for prefix in ("29:", "8:orgid:"):
        if member_id.startswith(prefix) and len(member_id) > len(prefix):
            return member_id[len(prefix) :]
    return None


class ActivityIds:
    """Teams-like message ids: epoch milliseconds, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        self._last = max(self._last + 1, int(time.time() * 1000))
        return str(self._last)


def invoke_value(value: dict) -> dict:
    """The `value` of an `adaptiveCard/action` invoke.

    Accepts the full value (`{"action": {...}, "trigger": "manual"}`) or just the action
    (`{"verb": ..., "data": ...}`).
    """
    if "action" in value:
        return {"trigger": "manual", **value}
    action = {"type": "Action.Execute", **value}
    action.setdefault("data", {})
    return {"action": action, "trigger": "manual"}


def build_incoming_activity(
    *,
    kind: str,
    activity_id: str,
    user_id: str,
    user_name: str,
    conversation_id: str,
    tenant_id: str,
    bot_app_id: str,
    bot_name: str,
    service_url: str,
    text: str | None = None,
    value: dict | None = None,
    reply_to_id: str | None = None,
) -> dict:
    """A `message`, `invoke` (adaptiveCard/action) or `conversationUpdate` activity from a user."""
    now = dt.datetime.now(dt.timezone.utc)
    activity: dict = {
        "type": kind,
        "id": activity_id,
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "localTimestamp": now.astimezone(COPENHAGEN).isoformat(timespec="milliseconds"),
        "localTimezone": "Europe/Copenhagen",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user_mri(tenant_id, user_id), "name": user_name, "aadObjectId": user_id},
        "conversation": {"conversationType": "personal", "tenantId": tenant_id, "id": conversation_id},
        "recipient": {"id": f"28:{bot_app_id}", "name": bot_name},
        "entities": [
            {"locale": "da-DK", "country": "DK", "platform": "Web", "timezone": "Europe/Copenhagen", "type": "clientInfo"}
        ],
        "channelData": {"tenant": {"id": tenant_id}},
        "locale": "da-DK",
    }
    if kind == "message":
        activity["text"] = text or ""
        activity["textFormat"] = "plain"
        if value is not None:
            activity["value"] = value
    elif kind == "invoke":
        activity["name"] = "adaptiveCard/action"
        activity["value"] = invoke_value(value or {})
        activity["channelData"]["source"] = {"name": "message"}
    elif kind == "conversationUpdate":
        activity["membersAdded"] = [{"id": f"28:{bot_app_id}"}]
        activity["channelData"]["eventType"] = "teamMemberAdded"
    if reply_to_id:
        activity["replyToId"] = reply_to_id
        activity["channelData"]["legacy"] = {"replyToId": reply_to_id}
    return activity


def adaptive_cards(activity: dict) -> list[tuple[int, dict]]:
    """(attachment index, card) for each Adaptive Card attached to an activity."""
    cards = []
    for index, attachment in enumerate(activity.get("attachments") or []):
        if not isinstance(attachment, dict) or attachment.get("contentType") != ADAPTIVE_CARD:
            continue
        content = attachment.get("content")
        if isinstance(content, str):
            try:
                content = json.loads(content)
            except ValueError:
                continue
        if isinstance(content, dict):
            cards.append((index, content))
    return cards
