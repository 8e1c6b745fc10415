"""Universal Actions `refresh` on Adaptive Cards, as the Teams client runs it.

From "Universal Actions for Adaptive Cards: User Specific Views"
(https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/user-specific-views):

* `refresh.userIds` lists the users' Teams ids (MRIs); at most 60 users get a user specific view.
* With `userIds`, the client refreshes the card automatically (an `adaptiveCard/action` invoke with
  `"trigger": "automatic"`) only for the users listed; the others may refresh it by hand
  (**Refresh** in the message's options: `"trigger": "manual"`).
* Without `userIds`, the client refreshes automatically for every member when the conversation has
  at most 60 members.
* Opening the chat refreshes the card for the users with automatic refresh.

An Entra object id in `userIds` therefore matches nobody: Teams compares MRIs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .teams_activities import adaptive_cards

if TYPE_CHECKING:
    from .state import Emulator

MAX_REFRESH_USERS = 60


def refresh_action(card: dict) -> dict | None:
    refresh = card.get("refresh")
    if isinstance(refresh, dict) and isinstance(refresh.get("action"), dict):
        if refresh["action"].get("type") == "Action.Execute":
            return refresh["action"]
    return None


def refreshes_automatically(card: dict, user_mri: str, members: int) -> bool:
    """Whether the Teams client refreshes `card` by itself for the user with this MRI."""
    if refresh_action(card) is None:
        return False
    user_ids = card["refresh"].get("userIds")
    if user_ids is None:
        return members <= MAX_REFRESH_USERS
    return isinstance(user_ids, list) and user_mri in user_ids


def refresh_trigger(emulator: "Emulator", user_id: str, card: dict) -> str:
    """`automatic` if the client would run the card's refresh by itself for the user, else `manual`."""
    # A personal chat has two members: the user and the bot.
    return "automatic" if refreshes_automatically(card, emulator.user_mri(user_id), 2) else "manual"


async def open_chat(emulator: "Emulator", user_id: str) -> dict:
    """The user opens the personal chat: each card that refreshes automatically for the user is
    refreshed (invoke to the bot; the card returned replaces it in the chat). Returns the activity
    ids refreshed, and those whose refresh the user would have to run by hand."""
    refreshed, manual = [], []
    for entry in list(emulator.chats.get(user_id, [])):
        if entry.get("deleted"):
            continue
        for _, card in adaptive_cards(entry["activity"]):
            action = refresh_action(card)
            if action is None:
                continue
            if refresh_trigger(emulator, user_id, card) != "automatic":
                manual.append(entry["id"])
                continue
            invoke = {"action": {"type": "Action.Execute", "verb": action.get("verb"),
                                 "data": action.get("data") or {}}, "trigger": "automatic"}
            status, body = await emulator.send_to_bot(user_id, invoke_value=invoke, reply_to_id=entry["id"])
            refreshed.append({"activity_id": entry["id"], "status": status, "body": body})
            break
    return {"refreshed": refreshed, "manual": manual}
