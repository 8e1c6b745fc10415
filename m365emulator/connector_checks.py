"""Light checks of what a bot posts to the connector, as Teams would refuse it."""

from __future__ import annotations

import json

from .card_refresh import MAX_REFRESH_USERS
from .teams_activities import ADAPTIVE_CARD

# Teams refuses bot messages over about 28 KB (text, attachments and cards together).
MAX_MESSAGE_BYTES = 28 * 1024
MAX_CARD_VERSION = (1, 5)


class ActivityRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _version(value: object) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in str(value).split("."))
    except ValueError:
        return None


def check_card(card: object) -> None:
    if not isinstance(card, dict):
        raise ActivityRejected(400, "BadArgument", "The Adaptive Card attachment's content must be a JSON object.")
    if card.get("type") != "AdaptiveCard":
        raise ActivityRejected(400, "BadArgument", "The Adaptive Card attachment's content must have type 'AdaptiveCard'.")
    version = card.get("version")
    if version is not None:
        parsed = _version(version)
        if parsed is None or parsed > MAX_CARD_VERSION:
            raise ActivityRejected(
                400, "BadArgument", f"Adaptive Card version {version!r} is not supported by Teams (1.5 at most)."
            )
    check_refresh(card)


def check_refresh(card: dict) -> None:
    """`refresh.userIds`: a list of Teams ids, for at most 60 users (User Specific Views)."""
    refresh = card.get("refresh")
    if refresh is None:
        return
    if not isinstance(refresh, dict):
        raise ActivityRejected(400, "BadArgument", "The Adaptive Card's refresh must be an object.")
    user_ids = refresh.get("userIds")
    if user_ids is None:
        return
    if not isinstance(user_ids, list) or not all(isinstance(u, str) and u for u in user_ids):
        raise ActivityRejected(400, "BadArgument", "refresh.userIds must be a list of user ids (MRIs).")
    if len(set(user_ids)) > MAX_REFRESH_USERS:
        raise ActivityRejected(
            400,
            "BadArgument",
            f"refresh.userIds names {len(set(user_ids))} users; at most {MAX_REFRESH_USERS} "
            "can get a user specific view.",
        )


def check_outgoing_activity(activity: object) -> dict:
    """The activity if Teams would take it; ActivityRejected if not."""
    if not isinstance(activity, dict):
        raise ActivityRejected(400, "BadSyntax", "The activity must be a JSON object.")
    kind = activity.get("type")
    if not isinstance(kind, str) or not kind:
        raise ActivityRejected(400, "BadArgument", "The activity has no type.")
    attachments = activity.get("attachments") or []
    if not isinstance(attachments, list):
        raise ActivityRejected(400, "BadSyntax", "attachments must be a list.")
    for attachment in attachments:
        if not isinstance(attachment, dict) or not attachment.get("contentType"):
            raise ActivityRejected(400, "BadArgument", "Each attachment needs a contentType.")
        if attachment["contentType"] == ADAPTIVE_CARD:
            check_card(attachment.get("content"))
    if kind == "message":
        if not activity.get("text") and not attachments:
            raise ActivityRejected(400, "BadArgument", "The message has neither text nor attachments.")
        size = len(str(activity.get("text") or "").encode()) + len(json.dumps(attachments).encode())
        if size > MAX_MESSAGE_BYTES:
            raise ActivityRejected(
                413, "MessageSizeTooBig", f"The message is {size} bytes; Teams takes at most {MAX_MESSAGE_BYTES}."
            )
    return activity
