"""Microsoft Graph (Outlook mail): `POST /v1.0/users/{user}/sendMail`, `GET /v1.0/users/{user}/messages`
and a well-known folder's messages (`GET /v1.0/users/{user}/mailFolders/sentitems/messages`)."""

from __future__ import annotations

import re

from aiohttp import web

from .http_common import emulator_of, graph_error, note, read_json
from .mail import MailRejected, graph_message, graph_recipients, parse_send_mail
from .tokens import GRAPH_APP_ID, GRAPH_RESOURCE, TokenRejected, app_id_of

routes = web.RouteTableDef()

GRAPH_AUDIENCES = [GRAPH_RESOURCE, GRAPH_APP_ID]


def _authorize(request: web.Request) -> dict | web.Response:
    """The token's claims, or Graph's 401."""
    try:
        return emulator_of(request).check_token(request.headers.get("Authorization"), audiences=GRAPH_AUDIENCES)
    except TokenRejected as exc:
        return graph_error(request, 401, "InvalidAuthenticationToken", str(exc))


def _count_request(request: web.Request, app_id: str, mailbox: str) -> web.Response | None:
    """Count the request against Outlook's per-app limits; Graph's 429 if over."""
    quotas = emulator_of(request).quotas
    wait = quotas.acquire(quotas.graph_request_uses(app_id, mailbox))
    if wait:
        return graph_error(
            request,
            429,
            "ApplicationThrottled",
            "Application is over its request limit for this mailbox (10,000 requests per 10 minutes, "
            "130,000 requests per 10 seconds across tenants).",
            retry_after=wait,
        )
    return None


# The calendar's routes (calendar.py) check tokens and count requests the same way.
authorize = _authorize
count_request = _count_request


@routes.post("/v1.0/users/{user}/sendMail", name="graph:send_mail")
async def send_mail(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    claims = _authorize(request)
    if isinstance(claims, web.Response):
        return claims
    app_id = app_id_of(claims) or ""
    mailbox = emulator.mailbox_address(request.match_info["user"])
    refused = _count_request(request, app_id, mailbox)
    if refused:
        return refused
    try:
        payload = await read_json(request)
    except ValueError:
        return graph_error(
            request,
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
            "valid JSON format.",
        )
    try:
        mail = parse_send_mail(payload)
    except MailRejected as exc:
        return graph_error(request, 400, exc.code, exc.message)
    note(request, recipients=mail.recipient_count, subject=mail.subject)
    quotas = emulator.quotas
    wait = quotas.acquire(quotas.mail_send_uses(mailbox, mail.recipient_count))
    if wait:
        return graph_error(
            request,
            429,
            "ApplicationThrottled",
            "The mailbox is over its sending limit (30 messages per minute, 10,000 recipients per 24 hours).",
            retry_after=wait,
        )
    copies = emulator.deliver_mail(mailbox, mail)
    note(request, internet_message_id=copies[0]["message_id"] if copies else None)
    return web.Response(status=202)


@routes.get("/v1.0/users/{user}/messages", name="graph:list_messages")
async def list_messages(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    claims = _authorize(request)
    if isinstance(claims, web.Response):
        return claims
    mailbox = emulator.mailbox_address(request.match_info["user"])
    refused = _count_request(request, app_id_of(claims) or "", mailbox)
    if refused:
        return refused
    try:
        top = int(request.query.get("$top", "10"))
        skip = int(request.query.get("$skip", "0"))
    except ValueError:
        return graph_error(request, 400, "BadRequest", "Invalid $top or $skip.")
    if not 1 <= top <= 1000 or skip < 0:
        return graph_error(request, 400, "BadRequest", "$top must be between 1 and 1000.")
    messages = list(reversed(emulator.mailboxes.get(mailbox, [])))
    page = messages[skip : skip + top]
    body: dict = {"value": [graph_message(m) for m in page]}
    if skip + top < len(messages):
        body["@odata.nextLink"] = str(request.url.update_query({"$top": str(top), "$skip": str(skip + top)}))
    return web.json_response(body)


MAIL_READ_PERMISSIONS = frozenset({"Mail.Read", "Mail.ReadWrite"})  # extended properties need more than ReadBasic
WELL_KNOWN_FOLDERS = {"sentitems": "sent", "inbox": "inbox"}
EXTENDED_FILTER = re.compile(
    r"^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id eq '([^']+)' and \1/value eq '([^']*)'\s*\)\s*$",
    re.IGNORECASE,
)


@routes.get("/v1.0/users/{user}/mailFolders/{folder}/messages", name="graph:folder_messages")
async def list_folder_messages(request: web.Request) -> web.Response:
    """A well-known folder's messages (`sentitems`: what the mailbox sent with saveToSentItems,
    Bcc included), newest first; `$filter` on a single-value extended property, `$select`,
    `$top` and `$skip`. Needs Mail.Read (Mail.ReadBasic does not reach extended properties)."""
    emulator = emulator_of(request)
    claims = _authorize(request)
    if isinstance(claims, web.Response):
        return claims
    if not set(claims.get("roles") or []) & MAIL_READ_PERMISSIONS:
        return graph_error(request, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    mailbox = emulator.mailbox_address(request.match_info["user"])
    refused = _count_request(request, app_id_of(claims) or "", mailbox)
    if refused:
        return refused
    folder = WELL_KNOWN_FOLDERS.get(request.match_info["folder"].lower())
    if folder is None:
        return graph_error(request, 404, "ErrorInvalidIdMalformed", "Id is malformed.")
    query = request.query
    try:
        top = int(query.get("$top", "10"))
        skip = int(query.get("$skip", "0"))
    except ValueError:
        return graph_error(request, 400, "BadRequest", "Invalid $top or $skip.")
    if not 1 <= top <= 1000 or skip < 0:
        return graph_error(request, 400, "BadRequest", "$top must be between 1 and 1000.")
    wanted = None
    if query.get("$filter"):
        match = EXTENDED_FILTER.match(query["$filter"])
        if match is None:
            return graph_error(request, 400, "ErrorInvalidUrlQueryFilter",
                               "The emulator filters only on a single-value extended property's id and value.")
        wanted = (match.group(2), match.group(3))
    stored = emulator.sent_items.get(mailbox, []) if folder == "sent" else emulator.mailboxes.get(mailbox, [])
    items = [m for m in reversed(stored)
             if wanted is None or (m.get("extended_properties") or {}).get(wanted[0]) == wanted[1]]
    page = items[skip : skip + top]
    selected = [name.strip() for name in query.get("$select", "").split(",") if name.strip()]
    values = []
    for item in page:
        message = graph_message(item)
        if folder == "sent":  # the sender's copy shows whom it went to in Bcc
            message["bccRecipients"] = graph_recipients(item.get("bcc", []))
        if selected:
            message = {k: v for k, v in message.items() if k == "id" or k in selected}
        values.append(message)
    note(request, folder=folder, found=len(items))
    body: dict = {"value": values}
    if skip + top < len(items):
        body["@odata.nextLink"] = str(request.url.update_query({"$top": str(top), "$skip": str(skip + top)}))
    return web.json_response(body)
