"""The emulator's pages as HTML (Danish labels): overview, a mailbox, a chat with the bot.

A Teams channel's page is in `channel_html.py`.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from .card_html import esc, markdown_lite, render_card
from .state import Emulator
from .teams_activities import ADAPTIVE_CARD, COPENHAGEN, adaptive_cards

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f5f7;color:#222}
header{background:#464775;color:#fff;padding:.8rem 1.5rem}header a{color:#fff}
main{max-width:60rem;margin:0 auto;padding:1rem 1.5rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
.notice{background:#fff4ce;border:1px solid #e0c060;padding:.6rem 1rem;margin:1rem 0}
.flash{background:#dff6dd;border:1px solid #9bd49b;padding:.6rem 1rem;margin:1rem 0}
article{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
article.user{background:#e8ebfa;margin-left:4rem}article.deleted{opacity:.55}
.meta{color:#555;font-size:.9rem;margin:.2rem 0}
iframe{width:100%;min-height:18rem;border:1px solid #ccc;background:#fff}
pre{white-space:pre-wrap;background:#fafafa;border:1px solid #eee;padding:.6rem}
.card{border:1px solid #c8c8d8;border-radius:4px;padding:.6rem .8rem;margin:.5rem 0;background:#fff}
.text{margin:.3rem 0}.bold{font-weight:600}.subtle{color:#666}.size-large,.size-extralarge{font-size:1.3rem}
.size-medium{font-size:1.1rem}.size-small{font-size:.85rem}
.color-attention{color:#c4314b}.color-good{color:#237b4b}.color-warning{color:#a15c00}.color-accent{color:#464775}
.container{padding:.2rem .4rem}.style-emphasis{background:#f0f0f0}.style-attention{background:#fde7e9}
.style-good{background:#e7f4e4}.style-warning{background:#fff4ce}.style-accent{background:#e8ebfa}
.columns{display:flex;gap:1rem}.column{flex:1}
table.facts{width:auto;background:none}table.facts th{font-weight:600;padding-left:0}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.6rem}
button,.button{font:inherit;padding:.35rem .9rem;border:1px solid #464775;background:#fff;color:#464775;border-radius:4px;cursor:pointer;text-decoration:none}
button.style-positive{background:#464775;color:#fff}button.style-destructive{border-color:#c4314b;color:#c4314b}
.disabled{opacity:.5;cursor:default}label.input{display:block;margin:.4rem 0}.label{display:block;font-size:.9rem}
textarea{width:100%;min-height:4rem}
"""


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.astimezone(COPENHAGEN).strftime("%d-%m-%Y %H:%M:%S")


def epoch_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds, COPENHAGEN).strftime("%H:%M:%S.%f")[:-3]


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="da"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f'<header><a href="/">Microsoft 365-emulator</a> · {esc(title)}</header><main>{body}</main></body></html>'
    )


def _flash(message: str | None) -> str:
    return f'<p class="flash" role="status">{esc(message)}</p>' if message else ""


# Overview ------------------------------------------------------------------------------
def channel_ids(emulator: Emulator) -> list[str]:
    """Teams channels: the configured ones first (in their order), then others the bot posted in."""
    ids = [str(c["id"]) for c in emulator.config.channels if c.get("id")]
    return ids + sorted(c for c in emulator.channels if c not in ids)


def overview_page(emulator: Emulator) -> str:
    config = emulator.config
    people = config.people
    addresses = set(emulator.mailboxes) | set(emulator.sent_items)
    addresses |= {str(p["email"]).lower() for p in people if p.get("email")}
    mailbox_rows = []
    for address in sorted(addresses, key=lambda a: (_name_for_address(emulator, a) or a).lower()):
        mailbox_rows.append(
            f"<tr><td>{esc(_name_for_address(emulator, address))}</td>"
            f'<td><a href="/mailbox/{quote(address)}">{esc(address)}</a></td>'
            f"<td>{len(emulator.mailboxes.get(address, []))}</td>"
            f"<td>{len(emulator.sent_items.get(address, []))}</td></tr>"
        )
    user_ids = set(emulator.chats) | {str(p["teams_user_id"]) for p in people if p.get("teams_user_id")}
    chat_rows = []
    for user_id in sorted(user_ids, key=lambda u: emulator.user_name(u).lower()):
        entries = emulator.chats.get(user_id, [])
        sent = sum(1 for e in emulator.to_bot if e["user_id"] == user_id)
        chat_rows.append(
            f"<tr><td>{esc(emulator.user_name(user_id))}</td>"
            f'<td><a href="/chat/{quote(user_id)}">{esc(user_id)}</a></td>'
            f"<td>{len(entries)}</td><td>{sent}</td></tr>"
        )
    channel_rows = [
        f"<tr><td>{esc(emulator.channel_name(channel_id))}</td>"
        f'<td><a href="/kanal/{quote(channel_id, safe="")}">{esc(channel_id)}</a></td>'
        f"<td>{len(emulator.channels.get(channel_id, []))}</td></tr>"
        for channel_id in channel_ids(emulator)
    ]
    calendar_rows = [
        f"<tr><td>{esc(_name_for_address(emulator, address))}</td>"
        f'<td><a href="/kalender/{quote(address)}">{esc(address)}</a></td>'
        f"<td>{sum(1 for e in events if not e.get('isCancelled'))}</td></tr>"
        for address, events in sorted(emulator.calendars.items())
    ]
    notices = []
    if not config.bot_endpoint:
        notices.append("Der er ikke sat et bot-endpoint op: brugernes beskeder og knaptryk kan ikke sendes til botten.")
    if emulator.faults:
        notices.append(f"Fejlindsprøjtning er slået til: {emulator.faults.to_json()}")
    if not config.limits:
        notices.append("Microsofts grænser (throttling) er slået fra.")
    recent = "".join(
        f"<tr><td>{esc(epoch_time(r.get('ts_start')))}</td><td>{esc(r['api'])}</td><td>{esc(r['method'])}</td>"
        f"<td>{esc(r['path'])}</td><td>{esc(r.get('status'))}</td></tr>"
        for r in reversed(emulator.log.records[-25:])
    )
    body = (
        "".join(f'<p class="notice">{esc(n)}</p>' for n in notices)
        + f'<p class="meta">Adresse: {esc(emulator.base_url)} · Tenant: {esc(config.tenant_id)} · '
        f"Bot-app: {esc(config.bot_app_id)} · Bot-endpoint: {esc(config.bot_endpoint or 'ikke sat op')}"
        + (f" · SMTP-port: {esc(emulator.smtp_port)}" if emulator.smtp_port else "")
        + "</p>"
        + "<h2>Postkasser</h2>"
        + (
            "<table><tr><th>Navn</th><th>Adresse</th><th>Modtaget</th><th>Sendt</th></tr>"
            + "".join(mailbox_rows)
            + "</table>"
            if mailbox_rows
            else "<p>Ingen postkasser endnu.</p>"
        )
        + "<h2>Teams-chats med botten</h2>"
        + (
            "<table><tr><th>Navn</th><th>Bruger-id</th><th>Fra botten</th><th>Til botten</th></tr>"
            + "".join(chat_rows)
            + "</table>"
            if chat_rows
            else "<p>Ingen chats endnu.</p>"
        )
        + "<h2>Teams-kanaler</h2>"
        + (
            "<table><tr><th>Kanal</th><th>Kanal-id</th><th>Tråde fra botten</th></tr>" + "".join(channel_rows) + "</table>"
            if channel_rows
            else "<p>Ingen kanaler endnu.</p>"
        )
        + (
            "<h2>Kalendere</h2><table><tr><th>Navn</th><th>Adresse</th><th>Møder</th></tr>"
            + "".join(calendar_rows)
            + "</table>"
            if calendar_rows
            else ""
        )
        + "<h2>Seneste forespørgsler</h2>"
        + (
            f"<table><tr><th>Tid</th><th>API</th><th>Metode</th><th>Sti</th><th>Status</th></tr>{recent}</table>"
            if recent
            else "<p>Ingen forespørgsler endnu.</p>"
        )
    )
    return page("Oversigt", body)


def _name_for_address(emulator: Emulator, address: str) -> str:
    person = emulator.config.person_by_email(address)
    return str(person.get("name") or "") if person else ""


# Mailbox -------------------------------------------------------------------------------
def _message_body(body: dict) -> str:
    content = body.get("content", "")
    if body.get("contentType") == "html":
        return f'<iframe sandbox="" title="Beskedens indhold" srcdoc="{esc(content)}"></iframe>'
    return f"<pre>{esc(content)}</pre>"


def _message(message: dict, *, sent: bool = False) -> str:
    lines = [f"<h3>{esc(message.get('subject') or '(intet emne)')}</h3>"]
    sender = esc(message.get("from"))
    if message.get("from_name"):
        sender = f"{esc(message['from_name'])} &lt;{sender}&gt;"
    lines.append(f'<p class="meta">Fra: {sender}</p>')
    if message.get("to"):
        lines.append(f'<p class="meta">Til: {esc(", ".join(message["to"]))}</p>')
    if message.get("cc"):
        lines.append(f'<p class="meta">Cc: {esc(", ".join(message["cc"]))}</p>')
    if sent and message.get("bcc"):
        lines.append(f'<p class="meta">Bcc: {len(message["bcc"])} modtagere</p>')
    elif message.get("bcc") is True:
        lines.append('<p class="meta">Du modtog beskeden som Bcc.</p>')
    label = "Sendt" if sent else "Modtaget"
    lines.append(f'<p class="meta">{label}: {esc(local_time(message.get("received_at")))}</p>')
    if message.get("attachments"):
        lines.append(f'<p class="meta">Vedhæftet: {esc(", ".join(message["attachments"]))}</p>')
    lines.append(_message_body(message.get("body") or {}))
    return f"<article>{''.join(lines)}</article>"


def mailbox_page(emulator: Emulator, address: str) -> str:
    name = _name_for_address(emulator, address)
    received = list(reversed(emulator.mailboxes.get(address, [])))
    sent = list(reversed(emulator.sent_items.get(address, [])))
    body = f"<h1>{esc(name or address)}</h1><p class='meta'>{esc(address)}</p>"
    body += f"<h2>Indbakke ({len(received)})</h2>"
    body += "".join(_message(m) for m in received) or "<p>Ingen beskeder endnu.</p>"
    if sent:
        body += f"<h2>Sendt post ({len(sent)})</h2>" + "".join(_message(m, sent=True) for m in sent)
    return page(f"Postkasse: {name or address}", body)


# Chat ----------------------------------------------------------------------------------
def _bot_entry(user_id: str, entry: dict) -> str:
    activity = entry["activity"]
    state = []
    if entry.get("version", 1) > 1:
        state.append(f"opdateret {entry['version'] - 1} gang(e), senest {local_time(entry.get('updated_at'))}")
    if entry.get("deleted"):
        state.append("slettet")
    meta = f"Fra botten · {esc(local_time(entry.get('posted_at')))}"
    if state:
        meta += " · " + esc(", ".join(state))
    parts = [f'<p class="meta">{meta}</p>']
    if activity.get("text"):
        parts.append(f'<p class="text">{markdown_lite(activity["text"])}</p>')
    cards = adaptive_cards(activity)
    for index, card in cards:
        rendered = render_card(card)
        if entry.get("deleted"):
            parts.append(rendered.html)
            continue
        parts.append(
            f'<form method="post" action="/chat/{quote(user_id)}/action">'
            f'<input type="hidden" name="activity_id" value="{esc(entry["id"])}">'
            f'<input type="hidden" name="attachment" value="{index}">{rendered.html}</form>'
        )
    card_indexes = {index for index, _ in cards}
    for index, attachment in enumerate(activity.get("attachments") or []):
        if index not in card_indexes and isinstance(attachment, dict):
            if attachment.get("contentType") != ADAPTIVE_CARD:
                parts.append(f'<p class="meta">[vedhæftning: {esc(attachment.get("contentType"))}]</p>')
    css = "bot deleted" if entry.get("deleted") else "bot"
    return f'<article class="{css}" id="a{esc(entry["id"])}">{"".join(parts)}</article>'


def _user_entry(entry: dict) -> str:
    activity = entry["activity"]
    if activity.get("type") == "invoke":
        action = (activity.get("value") or {}).get("action") or {}
        what = f"Trykkede på «{esc(action.get('title') or action.get('verb'))}» (Action.Execute, verb {esc(action.get('verb'))})"
    elif activity.get("type") == "conversationUpdate":
        what = "Installerede botten (conversationUpdate)"
    elif activity.get("value") is not None and not activity.get("text"):
        what = f"Sendte kortdata (Action.Submit): {esc(activity['value'])}"
    else:
        what = markdown_lite(activity.get("text"))
    status = entry.get("status")
    answer = f"fejl: {entry['error']}" if entry.get("error") else f"svar {status}" if status is not None else "afventer"
    return (
        f'<article class="user"><p class="meta">Du · {esc(local_time(activity.get("timestamp")))} · '
        f"botten: {esc(answer)}</p><p class='text'>{what}</p></article>"
    )


def chat_page(emulator: Emulator, user_id: str, flash: str | None = None) -> str:
    name = emulator.user_name(user_id)
    timeline = [(e.get("posted_at") or "", _bot_entry(user_id, e)) for e in emulator.chats.get(user_id, [])]
    timeline += [(e["activity"].get("timestamp") or "", _user_entry(e)) for e in emulator.to_bot if e["user_id"] == user_id]
    timeline.sort(key=lambda item: item[0])
    body = f"<h1>Chat med {esc(emulator.config.bot_name)}</h1><p class='meta'>Som {esc(name)} ({esc(user_id)})</p>"
    body += _flash(flash)
    if not emulator.config.bot_endpoint:
        body += (
            '<p class="notice">Der er ikke sat et bot-endpoint op, så beskeder og knaptryk kan ikke sendes til '
            "botten. Start emulatoren med <code>--bot-endpoint URL</code>.</p>"
        )
    body += "".join(html for _, html in timeline) or "<p>Ingen beskeder endnu.</p>"
    target = quote(user_id)
    body += (
        f'<form method="post" action="/chat/{target}/send"><label class="input"><span class="label">Skriv til botten'
        '</span><textarea name="text" required></textarea></label><button type="submit">Send</button></form>'
        f'<form method="post" action="/chat/{target}/install" style="margin-top:.6rem">'
        '<button type="submit">Send installationshændelse (conversationUpdate)</button></form>'
        f'<p><a href="/chat/{target}">Opdater</a></p>'
    )
    return page(f"Chat: {name}", body)
