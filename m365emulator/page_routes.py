"""The pages a person uses: `/`, `/mailbox/{address}`, `/chat/{user_id}` and the chat's forms."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
from aiohttp import web

from .card_html import action_data, render_card
from .card_refresh import refresh_trigger
from .http_common import emulator_of
from .page_html import chat_page, mailbox_page, overview_page
from .teams_activities import ADAPTIVE_CARD, adaptive_cards

routes = web.RouteTableDef()

NO_BOT = "Der er ikke sat et bot-endpoint op, så intet blev sendt."


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def _back(user_id: str, message: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/chat/{quote(user_id)}?besked={quote(message)}")


@routes.get("/")
async def overview(request: web.Request) -> web.Response:
    return _html(overview_page(emulator_of(request)))


@routes.get("/mailbox/{address}")
async def mailbox(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    return _html(mailbox_page(emulator, emulator.mailbox_address(request.match_info["address"])))


@routes.get("/chat/{user_id}")
async def chat(request: web.Request) -> web.Response:
    return _html(chat_page(emulator_of(request), request.match_info["user_id"], request.query.get("besked")))


def _describe_answer(status: int, body: object) -> str:
    if status >= 400:
        return f"Botten svarede med fejl {status}."
    if isinstance(body, dict) and body.get("type") == ADAPTIVE_CARD:
        return f"Botten svarede {status} og kortet blev opdateret."
    if isinstance(body, dict) and body.get("type") == "application/vnd.microsoft.activity.message":
        return f"Botten svarede: {body.get('value')}"
    if isinstance(body, dict) and body.get("type") == "application/vnd.microsoft.error":
        value = body.get("value") if isinstance(body.get("value"), dict) else {}
        return f"Botten meldte fejl: {value.get('message') or body.get('value')}"
    return f"Botten svarede {status}."


async def _send(user_id: str, send) -> web.HTTPSeeOther:
    try:
        status, body = await send()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _back(user_id, f"Kunne ikke nå botten: {exc}")
    return _back(user_id, _describe_answer(status, body))


@routes.post("/chat/{user_id}/send")
async def send_message(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    user_id = request.match_info["user_id"]
    form = await request.post()
    text = str(form.get("text") or "").strip()
    if not emulator.config.bot_endpoint:
        raise _back(user_id, NO_BOT)
    if not text:
        raise _back(user_id, "Skriv en besked først.")
    raise await _send(user_id, lambda: emulator.send_to_bot(user_id, text=text))


@routes.post("/chat/{user_id}/install")
async def install(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    user_id = request.match_info["user_id"]
    if not emulator.config.bot_endpoint:
        raise _back(user_id, NO_BOT)
    raise await _send(user_id, lambda: emulator.send_install_update(user_id))


@routes.post("/chat/{user_id}/action")
async def card_action(request: web.Request) -> web.Response:
    """A button on a card: Action.Execute becomes an `adaptiveCard/action` invoke, Action.Submit a message."""
    emulator = emulator_of(request)
    user_id = request.match_info["user_id"]
    form = await request.post()
    if not emulator.config.bot_endpoint:
        raise _back(user_id, NO_BOT)
    activity_id = str(form.get("activity_id") or "")
    entry = next((e for e in emulator.chats.get(user_id, []) if e["id"] == activity_id), None)
    if entry is None or entry.get("deleted"):
        raise _back(user_id, "Beskeden findes ikke (længere).")
    cards = dict(adaptive_cards(entry["activity"]))
    try:
        card = cards[int(str(form.get("attachment") or "0"))]
        rendered = render_card(card)
        action = rendered.actions[int(str(form.get("action") or ""))]
    except (KeyError, ValueError, IndexError):
        raise _back(user_id, "Knappen findes ikke (længere) på kortet.") from None
    data = action_data(action, rendered.inputs, form)
    if action.get("type") == "Action.Execute":
        invoke = {"action": {"type": "Action.Execute", "verb": action.get("verb"), "data": data}}
        if action.get("id"):
            invoke["action"]["id"] = action["id"]
        if action.get("_refresh"):
            invoke["trigger"] = refresh_trigger(emulator, user_id, card)
        raise await _send(
            user_id, lambda: emulator.send_to_bot(user_id, invoke_value=invoke, reply_to_id=activity_id)
        )
    raise await _send(user_id, lambda: emulator.send_to_bot(user_id, value=data, reply_to_id=activity_id))
