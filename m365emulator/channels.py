"""Teams channels: ids as Teams forms them, and what a channel thread looks like in the emulator.

A bot posts into a channel by creating a conversation (`POST v3/conversations` with `isGroup: true`,
`channelData.channel.id` and an `activity`). Teams starts a new thread (a reply chain) with that
activity and answers `{"id": "<channel id>;messageid=<activity id>", "activityId": "<activity id>"}`.
That id is the thread's conversation: activities posted to it are replies in the thread.
"""

from __future__ import annotations

import re

THREAD_SEPARATOR = ";messageid="
# 19:<anything>@thread.tacv2 (or @thread.skype for older teams)
CHANNEL_ID = re.compile(r"^19:[^;/\s]+@thread\.(tacv2|skype)$")


def is_channel_id(value: object) -> bool:
    return isinstance(value, str) and bool(CHANNEL_ID.match(value))


def thread_conversation_id(channel_id: str, root_activity_id: str) -> str:
    return f"{channel_id}{THREAD_SEPARATOR}{root_activity_id}"


def channel_from_parameters(params: dict) -> str | None:
    """`channelData.channel.id` of ConversationParameters, if given."""
    channel_data = params.get("channelData")
    if not isinstance(channel_data, dict):
        return None
    channel = channel_data.get("channel")
    if not isinstance(channel, dict) or not channel.get("id"):
        return None
    return str(channel["id"])
