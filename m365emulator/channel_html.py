"""The page of a Teams channel (`/kanal/{channel_id}`): the threads the bot started, with their replies."""

from __future__ import annotations

from .card_html import esc, markdown_lite, render_card
from .page_html import local_time, page
from .state import Emulator
from .teams_activities import ADAPTIVE_CARD, adaptive_cards


def _entry(entry: dict, *, reply: bool) -> str:
    activity = entry["activity"]
    state = []
    if entry.get("version", 1) > 1:
        state.append(f"opdateret {entry['version'] - 1} gang(e), senest {local_time(entry.get('updated_at'))}")
    if entry.get("deleted"):
        state.append("slettet")
    meta = f"{'Svar fra' if reply else 'Fra'} botten · {esc(local_time(entry.get('posted_at')))}"
    if state:
        meta += " · " + esc(", ".join(state))
    parts = [f'<p class="meta">{meta}</p>']
    if activity.get("text"):
        parts.append(f'<p class="text">{markdown_lite(activity["text"])}</p>')
    cards = adaptive_cards(activity)
    # Buttons on channel cards are shown but not wired: only the personal chat sends invokes.
    parts.extend(render_card(card).html for _, card in cards)
    card_indexes = {index for index, _ in cards}
    for index, attachment in enumerate(activity.get("attachments") or []):
        if index not in card_indexes and isinstance(attachment, dict):
            if attachment.get("contentType") != ADAPTIVE_CARD:
                parts.append(f'<p class="meta">[vedhæftning: {esc(attachment.get("contentType"))}]</p>')
    css = "bot deleted" if entry.get("deleted") else "bot"
    style = ' style="margin-left:3rem"' if reply else ""
    return f'<article class="{css}" id="a{esc(entry["id"])}"{style}>{"".join(parts)}</article>'


def _thread(thread: dict) -> str:
    replies = thread.get("replies") or []
    label = f"{len(replies)} svar" if replies else "ingen svar"
    return (
        f'<section class="thread"><p class="meta">Tråd {esc(thread["conversation_id"])} · {label}</p>'
        + _entry(thread, reply=False)
        + "".join(_entry(r, reply=True) for r in replies)
        + "</section>"
    )


def channel_page(emulator: Emulator, channel_id: str) -> str:
    name = emulator.channel_name(channel_id)
    threads = list(reversed(emulator.channels.get(channel_id, [])))  # newest thread first, as Teams shows
    body = f"<h1>{esc(name)}</h1><p class='meta'>Kanal-id: {esc(channel_id)}</p>"
    if not emulator.channel_accepted(channel_id):
        body += '<p class="notice">Kanalen er ikke en af de kanaler emulatoren er sat op med; botten får 404.</p>'
    body += f"<h2>Tråde ({len(threads)})</h2>"
    body += "".join(_thread(t) for t in threads) or "<p>Ingen tråde endnu.</p>"
    return page(f"Kanal: {name}", body)
