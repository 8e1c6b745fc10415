"""Microsoft Graph (Outlook mail): `POST /v1.0/users/{user}/sendMail` (JSON, or MIME as base64 with
Content-Type text/plain; needs Mail.Send), `GET /v1.0/users/{user}/messages` and a well-known folder's
messages (`GET /v1.0/users/{user}/mailFolders/sentitems/messages`), with the query options of
mail_query.py; listing needs Mail.ReadBasic.All, Mail.Read or Mail.ReadWrite, and a filter on an
extended property Mail.Read (Mail.ReadBasic reaches neither bodies nor extended properties)."""

from __future__ import annotations

from aiohttp import web

from .http_common import emulator_of, graph_error, note, read_json
from .mail import MailRejected, field_of, graph_message, graph_recipients, parse_mime_mail, parse_send_mail
from .mail_query import MESSAGE_PROPERTIES, QueryRejected, ordered, parse_query, shaped
from .payload_names import UnknownName, check_parameters, check_properties
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

ACCESS_DENIED = "Access is denied. Check credentials and try again."
MAIL_SEND_PERMISSIONS = frozenset({"Mail.Send"})
MAIL_READ_PERMISSIONS = frozenset({"Mail.Read", "Mail.ReadWrite"})  # bodies and extended properties
MAIL_LIST_PERMISSIONS = MAIL_READ_PERMISSIONS | {"Mail.ReadBasic.All"}


def lacks(claims: dict, permissions: frozenset[str]) -> bool:
    """True if the app-only token carries none of the application permissions."""
    return not set(claims.get("roles") or []) & permissions


def access_denied(request: web.Request) -> web.Response:
    return graph_error(request, 403, "ErrorAccessDenied", ACCESS_DENIED)


SEND_MAIL_PARAMETERS = ("message", "saveToSentItems")


def _check_names(payload: object) -> None:
    """UnknownName for a sendMail parameter, or a message property, Graph does not define."""
    if isinstance(payload, dict):
        check_parameters(payload, SEND_MAIL_PARAMETERS, "sendMail")
        message = field_of(payload, "message")
        if isinstance(message, dict):
            check_properties(message, MESSAGE_PROPERTIES, "microsoft.graph.message")


@routes.post("/v1.0/users/{user}/sendMail", name="graph:send_mail")
async def send_mail(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    claims = _authorize(request)
    if isinstance(claims, web.Response):
        return claims
    if lacks(claims, MAIL_SEND_PERMISSIONS):
        return access_denied(request)
    app_id = app_id_of(claims) or ""
    mailbox = emulator.mailbox_address(request.match_info["user"])
    refused = _count_request(request, app_id, mailbox)
    if refused:
        return refused
    try:
        if request.content_type == "text/plain":
            mail = parse_mime_mail(await request.read())
        else:
            try:
                payload = await read_json(request)
            except ValueError:
                return graph_error(
                    request,
                    400,
                    "BadRequest",
                    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is "
                    "of valid JSON format.",
                )
            _check_names(payload)
            mail = parse_send_mail(payload)
    except MailRejected as exc:
        return graph_error(request, 400, exc.code, exc.message)
    except UnknownName as exc:
        return graph_error(request, 400, exc.code, str(exc))
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


def _listing(request: web.Request, stored: list[dict], claims: dict, *, sent: bool) -> web.Response:
    """A page of messages (newest first) under the query's options."""
    try:
        query = parse_query(request.query)
    except QueryRejected as exc:
        return graph_error(request, 400, exc.code, exc.message)
    if query.filter is not None and lacks(claims, MAIL_READ_PERMISSIONS):
        return access_denied(request)
    basic = lacks(claims, MAIL_READ_PERMISSIONS)
    items = [m for m in reversed(stored)
             if query.filter is None or query.filter.matches(m.get("extended_properties") or {})]
    views = []
    for item in items:
        message = graph_message(item)
        if sent:  # the sender's copy shows whom it went to in Bcc
            message["bccRecipients"] = graph_recipients(item.get("bcc", []))
        views.append(message)
    views = ordered(views, query)
    page = [shaped(m, query, basic=basic) for m in views[query.skip : query.skip + query.top]]
    note(request, found=len(items))
    body: dict = {"value": page}
    if query.skip + query.top < len(items):
        body["@odata.nextLink"] = str(
            request.url.update_query({"$top": str(query.top), "$skip": str(query.skip + query.top)})
        )
    return web.json_response(body)


@routes.get("/v1.0/users/{user}/messages", name="graph:list_messages")
async def list_messages(request: web.Request) -> web.Response:
    """The mailbox's messages, newest first."""
    emulator = emulator_of(request)
    claims = _authorize(request)
    if isinstance(claims, web.Response):
        return claims
    if lacks(claims, MAIL_LIST_PERMISSIONS):
        return access_denied(request)
    mailbox = emulator.mailbox_address(request.match_info["user"])
    refused = _count_request(request, app_id_of(claims) or "", mailbox)
    if refused:
        return refused
    return _listing(request, emulator.mailboxes.get(mailbox, []), claims, sent=False)


WELL_KNOWN_FOLDERS = {"sentitems": "sent", "inbox": "inbox"}


@routes.get("/v1.0/users/{user}/mailFolders/{folder}/messages", name="graph:folder_messages")
async def list_folder_messages(request: web.Request) -> web.Response:
    """A well-known folder's messages (`sentitems`: what the mailbox sent with saveToSentItems,
    Bcc included), newest first."""
    emulator = emulator_of(request)
    claims = _authorize(request)
    if isinstance(claims, web.Response):
        return claims
    if lacks(claims, MAIL_LIST_PERMISSIONS):
        return access_denied(request)
    mailbox = emulator.mailbox_address(request.match_info["user"])
    refused = _count_request(request, app_id_of(claims) or "", mailbox)
    if refused:
        return refused
    folder = WELL_KNOWN_FOLDERS.get(request.match_info["folder"].lower())
    if folder is None:
        return graph_error(request, 404, "ErrorInvalidIdMalformed", "Id is malformed.")
    note(request, folder=folder)
    stored = emulator.sent_items.get(mailbox, []) if folder == "sent" else emulator.mailboxes.get(mailbox, [])
    return _listing(request, stored, claims, sent=folder == "sent")
