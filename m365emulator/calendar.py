"""Graph calendar events with Teams meetings, the attendees' copies and answers, and `/kalender/{address}`.

Graph: `POST /v1.0/users/{user}/events` (with `transactionId` an event posted twice is made once),
`GET`, `PATCH` and `DELETE /v1.0/users/{user}/events/{id}` and `POST .../events/{id}/cancel`. Each is
one request against the mailbox's Graph limits (4 at a time, 10,000 per 10 minutes), not against
Exchange's sending limits. The events live in `emulator.calendars`: lower-cased address -> events in
Graph's shape, the organizer's own (`isOrganizer: true`) and each attendee's copy (own `id`, same
`iCalUId`). A cancelled meeting stays there with `isCancelled: true`; Graph no longer finds the
organizer's event, the attendees still see their cancelled copy.

Attendees answer with `POST /_emulator/events/{id}/respond` or the buttons on `/kalender/{address}`;
the answer shows in the organizer's event (`attendees[].status`) and in the attendee's copy
(`responseStatus`).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
import secrets
import uuid
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from .card_html import esc
from .event_select import EVENT_PROPERTIES, SelectRejected, select_view, selected_names
from .graph_routes import authorize, count_request
from .http_common import emulator_of, graph_error, note, read_json
from .graph_routes import access_denied, lacks
from .mail import ADDRESS, field_of
from .meeting_blob import keeps_blob, with_blob
from .page_html import page
from .payload_names import UnknownName, check_properties
from .quotas import MAIL_RECIPIENTS_PER_MESSAGE
from .state import Emulator
from .teams_activities import COPENHAGEN
from .tokens import app_id_of

routes = web.RouteTableDef()

# Graph's "never" for a response time.
NEVER = "0001-01-01T00:00:00Z"
RESPONSES = ("accepted", "declined", "tentativelyAccepted")
ATTENDEE_TYPES = ("required", "optional", "resource")
PROVIDERS = ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer")  # onlineMeetingProviderType
# The only provider the emulated calendars allow (calendar.allowedOnlineMeetingProviders).
ALLOWED_PROVIDERS = ("teamsForBusiness",)
# Application permissions: creating, changing and cancelling need Calendars.ReadWrite; reading one of these.
CALENDAR_WRITE = frozenset({"Calendars.ReadWrite"})
CALENDAR_READ = frozenset({"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"})
# Windows time zone names Graph accepts besides IANA names (the ones near Copenhagen).
WINDOWS_ZONES = {
    "utc": "UTC",
    "romance standard time": "Europe/Copenhagen",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "gmt standard time": "Europe/London",
    "fle standard time": "Europe/Helsinki",
    "eastern standard time": "America/New_York",
    "central standard time": "America/Chicago",
    "mountain standard time": "America/Denver",
    "pacific standard time": "America/Los_Angeles",
}
# What the organizer may change with PATCH (other properties are ignored).
CHANGEABLE = ("subject", "body", "start", "end", "location", "attendees", "isOnlineMeeting", "onlineMeetingProvider")
# What an attendee's copy takes over from the organizer's event.
SHARED = (
    "iCalUId",
    "subject",
    "body",
    "bodyPreview",
    "start",
    "end",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "location",
    "locations",
    "attendees",
    "organizer",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "onlineMeeting",
    "importance",
    "sensitivity",
    "isAllDay",
    "type",
    "isCancelled",
)
NOT_FOUND = "The specified object was not found in the store."


class EventRejected(Exception):
    """A 400 from Graph, with its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Times -----------------------------------------------------------------------------------
def zone_named(name: object) -> dt.tzinfo:
    """An IANA or (a few) Windows time zone names, as Graph takes them."""
    if isinstance(name, str) and name.strip():
        key = name.strip()
        try:
            return ZoneInfo(WINDOWS_ZONES.get(key.lower(), key))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise EventRejected(
        "TimeZoneNotSupportedException",
        f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name or ''}'.",
    )


def graph_date_time(moment: dt.datetime) -> str:
    """`2026-03-01T10:00:00.0000000`, as Graph writes a dateTimeTimeZone's dateTime."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "0"


def _parse_date_time(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise EventRejected("ErrorInvalidRequest", f"'{name}' must be a dateTimeTimeZone with dateTime and timeZone.")
    raw = field_of(value, "dateTime")
    zone_name = field_of(value, "timeZone") or "UTC"
    zone = zone_named(zone_name)
    if not isinstance(raw, str) or not raw.strip():
        raise EventRejected("ErrorInvalidRequest", f"'{name}.dateTime' is required.")
    text = raw.strip().replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Graph writes 7 fractional digits
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise EventRejected("ErrorInvalidRequest", f"'{name}.dateTime' is not a valid date and time: {raw!r}.") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return {"dateTime": graph_date_time(moment), "timeZone": str(zone_name)}


def instant(value: dict) -> dt.datetime:
    """A stored dateTimeTimeZone as an aware datetime."""
    moment = dt.datetime.fromisoformat(value["dateTime"][:26])
    return moment.replace(tzinfo=zone_named(value["timeZone"]))


def in_zone(value: dict, zone_name: str) -> dict:
    """The same moment in another time zone (Graph answers GET in UTC unless `Prefer: outlook.timezone`)."""
    return {"dateTime": graph_date_time(instant(value).astimezone(zone_named(zone_name))), "timeZone": zone_name}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "0Z")


# Reading a request --------------------------------------------------------------------------
def _attendees(value: object, emulator: Emulator) -> list[dict]:
    if not isinstance(value, list):
        raise EventRejected("ErrorInvalidRequest", "'attendees' must be a collection of attendees.")
    attendees: dict[str, dict] = {}
    for item in value:
        email = field_of(item, "emailAddress") if isinstance(item, dict) else None
        address = field_of(email, "address") if isinstance(email, dict) else None
        if not isinstance(address, str) or not ADDRESS.match(address.strip()):
            raise EventRejected(
                "ErrorInvalidRecipients", f"At least one recipient isn't valid., Recipient '{address}' is not resolved."
            )
        kind = str(field_of(item, "type") or "required").lower()  # Graph's own examples write "Required"
        if kind not in ATTENDEE_TYPES:
            raise EventRejected("ErrorInvalidRequest", f"Attendee type must be one of {', '.join(ATTENDEE_TYPES)}.")
        address = address.strip()
        if address.lower() in attendees:
            continue
        name = field_of(email, "name") or _person_name(emulator, address)
        attendees[address.lower()] = {
            "type": kind,
            "status": {"response": "none", "time": NEVER},
            "emailAddress": {"name": str(name), "address": address},
        }
    if len(attendees) > MAIL_RECIPIENTS_PER_MESSAGE:
        raise EventRejected(
            "ErrorTooManyRecipients",
            f"The meeting request exceeds the maximum supported size of {MAIL_RECIPIENTS_PER_MESSAGE} recipients.",
        )
    return list(attendees.values())


def _body(value: object) -> dict:
    if value is None:
        return {"contentType": "text", "content": ""}
    if not isinstance(value, dict):
        raise EventRejected("BadRequest", "body must be an itemBody.")
    kind = str(field_of(value, "contentType") or "text").lower()
    if kind not in ("text", "html"):
        raise EventRejected("BadRequest", "body.contentType must be text or html.")
    return {"contentType": kind, "content": str(field_of(value, "content") or "")}


def _location(value: object) -> dict:
    if value is None:
        return {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"}
    if not isinstance(value, dict):
        raise EventRejected("BadRequest", "location must be a location.")
    name = str(field_of(value, "displayName") or "")
    return {"displayName": name, "locationType": "default", "uniqueId": name, "uniqueIdType": "private"}


def _online(payload: dict, *, default: bool = False) -> bool:
    online = field_of(payload, "isOnlineMeeting", default)
    if not isinstance(online, bool):
        raise EventRejected("BadRequest", "isOnlineMeeting must be true or false.")
    provider = field_of(payload, "onlineMeetingProvider")
    if provider is not None and provider not in PROVIDERS:
        raise EventRejected("RequestBodyRead", f"Requested value '{provider}' was not found.")
    if online and provider not in (None, *ALLOWED_PROVIDERS):
        raise EventRejected(
            "ErrorInvalidRequest", f"The online meeting provider '{provider}' is not supported; use teamsForBusiness."
        )
    return online


def read_event(payload: object, emulator: Emulator, *, new: bool) -> dict:
    """The properties given in a POST (all that are needed) or a PATCH (those to change)."""
    if not isinstance(payload, dict):
        raise EventRejected("BadRequest", "Empty Payload. JSON content expected.")
    try:
        check_properties(payload, EVENT_PROPERTIES, "microsoft.graph.event")
    except UnknownName as exc:
        raise EventRejected(exc.code, str(exc)) from None
    present = {name for name in CHANGEABLE if field_of(payload, name) is not None}
    if new:
        for name in ("subject", "start", "end"):
            if name not in present:
                raise EventRejected("ErrorInvalidRequest", f"The event needs '{name}'.")
    fields: dict = {}
    if "subject" in present:
        subject = field_of(payload, "subject")
        if not isinstance(subject, str) or not subject.strip():
            raise EventRejected("ErrorInvalidRequest", "The event needs a subject.")
        fields["subject"] = subject
    if new or "body" in present:
        fields["body"] = _body(field_of(payload, "body"))
    for name in ("start", "end"):
        if name in present:
            fields[name] = _parse_date_time(field_of(payload, name), name)
    if new or "location" in present:
        fields["location"] = _location(field_of(payload, "location"))
    if new or "attendees" in present:
        fields["attendees"] = _attendees(field_of(payload, "attendees") or [], emulator)
    if new or "isOnlineMeeting" in present or "onlineMeetingProvider" in present:
        fields["isOnlineMeeting"] = _online(payload)
    transaction_id = field_of(payload, "transactionId")
    if new and transaction_id is not None:
        fields["transactionId"] = str(transaction_id)
    return fields


def _check_times(event: dict) -> None:
    if instant(event["end"]) < instant(event["start"]):
        raise EventRejected("ErrorInvalidRequest", "The event's end must not be before its start.")


# The events -------------------------------------------------------------------------------------
def _person_name(emulator: Emulator, address: str) -> str:
    person = emulator.config.person_by_email(address)
    return str(person["name"]) if person and person.get("name") else address


def _event_id() -> str:
    return "AAMkAGVtdWxhdG9y" + base64.urlsafe_b64encode(secrets.token_bytes(48)).decode()


def _change_key() -> str:
    return base64.b64encode(secrets.token_bytes(12)).decode()


def _ical_uid() -> str:
    return "040000008200E00074C5B7101A82E00800000000" + secrets.token_hex(28).upper()


def _join_url(emulator: Emulator, organizer_oid: str) -> str:
    thread = f"19%3ameeting_{base64.urlsafe_b64encode(secrets.token_bytes(30)).decode()}%40thread.v2"
    context = quote(json.dumps({"Tid": emulator.config.tenant_id, "Oid": organizer_oid}, separators=(",", ":")))
    return f"https://teams.microsoft.com/l/meetup-join/{thread}/0?context={context}"


def _preview(body: dict) -> str:
    content = body.get("content", "")
    if body.get("contentType") == "html":
        content = re.sub(r"<[^>]+>", " ", content)
    return " ".join(content.split())[:255]


def _stamp(event: dict, now: str) -> None:
    event["changeKey"] = _change_key()
    event["@odata.etag"] = f'W/"{event["changeKey"]}"'
    event["lastModifiedDateTime"] = now


def _web_link(event_id: str) -> str:
    return f"https://outlook.office365.com/owa/?itemid={quote(event_id, safe='')}&exvsurl=1&path=/calendar/item"


def _blank_event(now: str) -> dict:
    event_id = _event_id()
    event = {
        "@odata.etag": "",
        "id": event_id,
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": "",
        "categories": [],
        "transactionId": None,
        "iCalUId": "",
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": _web_link(event_id),
        "onlineMeetingUrl": None,
        "allowNewTimeProposals": True,
        "isDraft": False,
        "responseStatus": {"response": "organizer", "time": NEVER},
    }
    _stamp(event, now)
    return event


def _apply(event: dict, fields: dict) -> None:
    """Set the fields read from a request, with what follows from them."""
    for name, value in fields.items():
        if name == "attendees":
            # An attendee kept keeps their answer.
            before = {a["emailAddress"]["address"].lower(): a["status"] for a in event.get("attendees", [])}
            for attendee in value:
                attendee["status"] = before.get(attendee["emailAddress"]["address"].lower(), attendee["status"])
        event[name] = value
    if "body" in fields:
        event["bodyPreview"] = _preview(event["body"])
    if "location" in fields:
        event["locations"] = [dict(event["location"])] if event["location"]["displayName"] else []
    if "start" in fields:
        event["originalStartTimeZone"] = event["start"]["timeZone"]
    if "end" in fields:
        event["originalEndTimeZone"] = event["end"]["timeZone"]


def create_event(emulator: Emulator, organizer: str, fields: dict) -> dict:
    """The organizer's event (and each attendee's copy) from a POST's fields; EventRejected if not valid."""
    now = _now()
    event = _blank_event(now)
    online = fields.pop("isOnlineMeeting", False)
    _apply(event, fields)
    _check_times(event)
    person = emulator.config.person_by_email(organizer) or {}
    event["iCalUId"] = _ical_uid()
    event["organizer"] = {"emailAddress": {"name": _person_name(emulator, organizer), "address": organizer}}
    event["isOnlineMeeting"] = online
    event["onlineMeetingProvider"] = "teamsForBusiness" if online else "unknown"
    event["onlineMeeting"] = (
        {"joinUrl": _join_url(emulator, str(person.get("teams_user_id") or uuid.uuid4()))} if online else None
    )
    if online:
        _apply(event, {"body": with_blob(event["body"], event["onlineMeeting"]["joinUrl"])})
    emulator.calendars.setdefault(organizer, []).append(event)
    _share(emulator, event, now)
    return event


def update_event(emulator: Emulator, event: dict, fields: dict) -> dict:
    """Change the organizer's event (copies follow) or an attendee's own copy; a new changeKey."""
    if not event["isOrganizer"]:
        # An attendee's changes stay in their own calendar.
        fields = {k: v for k, v in fields.items() if k not in ("attendees", "isOnlineMeeting")}
    changed = copy.deepcopy(event)
    online = fields.pop("isOnlineMeeting", None)
    _apply(changed, fields)
    _check_times(changed)
    if online and not changed["isOnlineMeeting"]:
        person = emulator.config.person_by_email(changed["organizer"]["emailAddress"]["address"]) or {}
        changed["isOnlineMeeting"] = True
        changed["onlineMeetingProvider"] = "teamsForBusiness"
        changed["onlineMeeting"] = {"joinUrl": _join_url(emulator, str(person.get("teams_user_id") or uuid.uuid4()))}
        _apply(changed, {"body": with_blob(changed["body"], changed["onlineMeeting"]["joinUrl"])})
    elif "body" in fields and event["isOnlineMeeting"] and not keeps_blob(changed["body"], _join(event)):
        # "Inadvertently removing the meeting blob from the body would disable meeting online."
        changed.update(isOnlineMeeting=False, onlineMeetingProvider="unknown", onlineMeeting=None)
    # Otherwise, as in Teams, a meeting once online stays online (isOnlineMeeting false is ignored).
    now = _now()
    event.clear()
    event.update(changed)
    _stamp(event, now)
    if event["isOrganizer"]:
        _share(emulator, event, now)
    return event


def _join(event: dict) -> str:
    return (event.get("onlineMeeting") or {}).get("joinUrl") or ""


def cancel_event(emulator: Emulator, event: dict) -> None:
    """The organizer cancels: every copy is marked cancelled (kept for the pages)."""
    now = _now()
    event["isCancelled"] = True
    _stamp(event, now)
    _share(emulator, event, now)


def _share(emulator: Emulator, event: dict, now: str) -> None:
    """Bring each attendee's copy up to date with the organizer's event; removed attendees' are cancelled."""
    organizer = event["organizer"]["emailAddress"]["address"].lower()
    current = {a["emailAddress"]["address"].lower() for a in event["attendees"]} - {organizer}
    for address in current:
        mine = copy_of(emulator, address, event["iCalUId"])
        if mine is None:
            mine = _blank_event(now)
            mine.update(isOrganizer=False, responseStatus={"response": "notResponded", "time": NEVER})
            emulator.calendars.setdefault(address, []).append(mine)
        mine.update(copy.deepcopy({name: event[name] for name in SHARED}))
        _stamp(mine, now)
    for address, events in emulator.calendars.items():
        if address in current or address == organizer:
            continue
        for mine in events:
            if mine["iCalUId"] == event["iCalUId"] and not mine["isCancelled"]:
                mine["isCancelled"] = True
                _stamp(mine, now)


def copy_of(emulator: Emulator, address: str, ical_uid: str) -> dict | None:
    return next(
        (e for e in emulator.calendars.get(address, []) if e["iCalUId"] == ical_uid and not e["isOrganizer"]), None
    )


def find_event(emulator: Emulator, mailbox: str, event_id: str) -> dict | None:
    """The event with this id in the mailbox's calendar, as Graph finds it (not a cancelled organizer's event)."""
    for event in emulator.calendars.get(mailbox, []):
        if event["id"] == event_id:
            return None if event["isOrganizer"] and event["isCancelled"] else event
    return None


def organizer_event(emulator: Emulator, event_id: str) -> dict | None:
    """The organizer's event behind an id: the organizer's own, or any attendee's copy of it."""
    for events in emulator.calendars.values():
        for event in events:
            if event["id"] == event_id:
                if event["isOrganizer"]:
                    return event
                address = event["organizer"]["emailAddress"]["address"].lower()
                return next(
                    (e for e in emulator.calendars.get(address, []) if e["iCalUId"] == event["iCalUId"] and e["isOrganizer"]),
                    None,
                )
    return None


def respond(emulator: Emulator, event: dict, address: str, response: str) -> dict:
    """An attendee answers: their status in the organizer's event and their copy's responseStatus; the attendee."""
    if response not in RESPONSES:
        raise ValueError(f"response must be one of {', '.join(RESPONSES)}")
    address = address.strip().lower()
    attendee = next((a for a in event["attendees"] if a["emailAddress"]["address"].lower() == address), None)
    if attendee is None:
        raise LookupError(f"{address} is not invited to this meeting")
    now = _now()
    attendee["status"] = {"response": response, "time": now}
    mine = copy_of(emulator, address, event["iCalUId"])
    if mine is not None:
        mine["responseStatus"] = {"response": response, "time": now}
    for events in emulator.calendars.values():
        for other in events:
            if other is not event and other["iCalUId"] == event["iCalUId"] and not other["isCancelled"]:
                other["attendees"] = copy.deepcopy(event["attendees"])
    return attendee


def graph_view(event: dict, *, zone: str | None = None, context: str | None = None) -> dict:
    """The event as Graph answers it; start and end in `zone` if given."""
    view = copy.deepcopy(event)
    if zone:
        view["start"] = in_zone(event["start"], zone)
        view["end"] = in_zone(event["end"], zone)
    if context:
        view = {"@odata.context": context, **view}
    return view


# Graph routes ------------------------------------------------------------------------------------
PREFER_ZONE = re.compile(r'outlook\.timezone\s*=\s*"([^"]+)"', re.IGNORECASE)


def _context(request: web.Request) -> str:
    base = emulator_of(request).base_url or ""
    return f"{base}/v1.0/$metadata#users('{request.match_info['user']}')/events/$entity"


def _start(request: web.Request, permissions: frozenset[str] = CALENDAR_WRITE) -> tuple[str, web.Response | None]:
    """The mailbox, after the token and permission checks and the mailbox's Graph limits (or the error answer)."""
    emulator = emulator_of(request)
    claims = authorize(request)
    if isinstance(claims, web.Response):
        return "", claims
    if lacks(claims, permissions):
        return "", access_denied(request)
    mailbox = emulator.mailbox_address(request.match_info["user"])
    return mailbox, count_request(request, app_id_of(claims) or "", mailbox)


async def _payload(request: web.Request) -> object:
    try:
        return await read_json(request)
    except ValueError:
        raise EventRejected(
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
            "valid JSON format.",
        ) from None


def _not_found(request: web.Request) -> web.Response:
    return graph_error(request, 404, "ErrorItemNotFound", NOT_FOUND)


@routes.post("/v1.0/users/{user}/events", name="graph:create_event")
@routes.post("/v1.0/users/{user}/calendar/events", name="graph:create_calendar_event")
async def post_event(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    mailbox, refused = _start(request)
    if refused:
        return refused
    try:
        fields = read_event(await _payload(request), emulator, new=True)
        transaction_id = fields.get("transactionId")
        existing = next(
            (
                e
                for e in emulator.calendars.get(mailbox, [])
                if transaction_id and e.get("transactionId") == transaction_id and e["isOrganizer"] and not e["isCancelled"]
            ),
            None,
        )
        event = existing or create_event(emulator, mailbox, fields)
    except EventRejected as exc:
        return graph_error(request, 400, exc.code, exc.message)
    note(request, event_id=event["id"], subject=event["subject"], attendees=len(event["attendees"]), repeated=bool(existing))
    return web.json_response(graph_view(event, context=_context(request)), status=201)


@routes.get("/v1.0/users/{user}/events/{event_id}", name="graph:get_event")
async def get_event(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    mailbox, refused = _start(request, CALENDAR_READ)
    if refused:
        return refused
    event = find_event(emulator, mailbox, request.match_info["event_id"])
    if event is None:
        return _not_found(request)
    prefer = PREFER_ZONE.search(request.headers.get("Prefer", ""))
    zone = prefer.group(1) if prefer else "UTC"
    try:
        view = graph_view(event, zone=zone, context=_context(request))
        if "$select" in request.query:
            view = select_view(view, selected_names(request.query["$select"]))
    except EventRejected as exc:
        return graph_error(request, 400, exc.code, exc.message)
    except SelectRejected as exc:
        return graph_error(request, 400, exc.code, str(exc))
    headers = {"Preference-Applied": f'outlook.timezone="{zone}"'} if prefer else None
    return web.json_response(view, headers=headers)


@routes.patch("/v1.0/users/{user}/events/{event_id}", name="graph:update_event")
async def patch_event(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    mailbox, refused = _start(request)
    if refused:
        return refused
    event = find_event(emulator, mailbox, request.match_info["event_id"])
    if event is None:
        return _not_found(request)
    if event["isCancelled"]:
        return graph_error(request, 400, "ErrorCalendarIsCancelledForUpdate", "The meeting is cancelled.")
    try:
        fields = read_event(await _payload(request), emulator, new=False)
        update_event(emulator, event, fields)
    except EventRejected as exc:
        return graph_error(request, 400, exc.code, exc.message)
    note(request, event_id=event["id"], changed=sorted(fields))
    return web.json_response(graph_view(event, context=_context(request)))


@routes.delete("/v1.0/users/{user}/events/{event_id}", name="graph:delete_event")
async def delete_event(request: web.Request) -> web.Response:
    """The organizer's delete cancels the meeting for everyone; an attendee's removes their copy."""
    emulator = emulator_of(request)
    mailbox, refused = _start(request)
    if refused:
        return refused
    event = find_event(emulator, mailbox, request.match_info["event_id"])
    if event is None:
        return _not_found(request)
    if event["isOrganizer"]:
        cancel_event(emulator, event)
    else:
        emulator.calendars[mailbox].remove(event)
    note(request, event_id=event["id"])
    return web.Response(status=204)


@routes.post("/v1.0/users/{user}/events/{event_id}/cancel", name="graph:cancel_event")
async def post_cancel(request: web.Request) -> web.Response:
    """`{"comment": ...}`: only the organizer can cancel; 202 as Graph answers."""
    emulator = emulator_of(request)
    mailbox, refused = _start(request)
    if refused:
        return refused
    event = find_event(emulator, mailbox, request.match_info["event_id"])
    if event is None:
        return _not_found(request)
    if not event["isOrganizer"]:
        return graph_error(
            request, 400, "ErrorAccessDenied", "Your request can't be completed. You need to be an organizer to cancel a meeting."
        )
    try:
        payload = await read_json(request)
    except ValueError:
        payload = {}
    comment = field_of(payload, "comment") if isinstance(payload, dict) else None
    cancel_event(emulator, event)
    note(request, event_id=event["id"], comment=comment)
    return web.Response(status=202)


# Acting as an attendee ---------------------------------------------------------------------------
def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@routes.post("/_emulator/events/{event_id}/respond")
async def respond_json(request: web.Request) -> web.Response:
    """`{"address", "response": "accepted"|"declined"|"tentativelyAccepted"}` -> the attendee with their status.

    The id may be the organizer's event's or the attendee's copy's.
    """
    emulator = emulator_of(request)
    try:
        data = await read_json(request)
    except ValueError:
        return web.json_response({"error": "expected JSON"}, status=400)
    if not isinstance(data, dict) or not isinstance(data.get("address"), str) or data.get("response") not in RESPONSES:
        return web.json_response({"error": f"give address and response ({', '.join(RESPONSES)})"}, status=400)
    event = organizer_event(emulator, request.match_info["event_id"])
    if event is None:
        return web.json_response({"error": {"code": "ErrorItemNotFound", "message": NOT_FOUND}}, status=404)
    if event["isCancelled"]:
        return web.json_response({"error": "the meeting is cancelled"}, status=409)
    try:
        attendee = respond(emulator, event, data["address"], data["response"])
    except LookupError as exc:
        return web.json_response({"error": str(exc)}, status=404)
    return web.json_response({"event_id": event["id"], "attendee": attendee}, dumps=_dumps)


@routes.get("/_emulator/calendars")
async def list_calendars(request: web.Request) -> web.Response:
    """`{address: number of events}`."""
    calendars = emulator_of(request).calendars
    return web.json_response({address: len(events) for address, events in sorted(calendars.items())})


@routes.get("/_emulator/calendars/{address}")
async def calendar_json(request: web.Request) -> web.Response:
    """`{"address", "name", "events": [event as stored, cancelled ones too]}`."""
    emulator = emulator_of(request)
    address = emulator.mailbox_address(request.match_info["address"])
    return web.json_response(
        {"address": address, "name": _person_name(emulator, address), "events": emulator.calendars.get(address, [])},
        dumps=_dumps,
    )


# The page ----------------------------------------------------------------------------------------
ANSWERS_DA = {
    "none": "Intet svar",
    "notResponded": "Intet svar",
    "organizer": "Mødeindkalder",
    "accepted": "Deltager",
    "declined": "Deltager ikke",
    "tentativelyAccepted": "Måske",
}
FORM_RESPONSES = {"accepted": "Deltager", "declined": "Deltager ikke"}


def _when(event: dict) -> str:
    try:
        start = instant(event["start"]).astimezone(COPENHAGEN)
        end = instant(event["end"]).astimezone(COPENHAGEN)
    except (EventRejected, KeyError, ValueError):
        return ""
    if start.date() == end.date():
        return f"{start:%d-%m-%Y} kl. {start:%H:%M}–{end:%H:%M}"
    return f"{start:%d-%m-%Y %H:%M} – {end:%d-%m-%Y %H:%M}"


def _event_html(address: str, event: dict) -> str:
    organizer = event["organizer"]["emailAddress"]
    parts = [f"<h3>{esc(event['subject'])}{' (aflyst)' if event['isCancelled'] else ''}</h3>"]
    parts.append(f'<p class="meta">{esc(_when(event))}</p>')
    if event["location"].get("displayName"):
        parts.append(f'<p class="meta">Sted: {esc(event["location"]["displayName"])}</p>')
    parts.append(f'<p class="meta">Mødeindkalder: {esc(organizer["name"])} &lt;{esc(organizer["address"])}&gt;</p>')
    if event.get("onlineMeeting"):
        parts.append(f'<p class="meta">Teams-møde: <code>{esc(event["onlineMeeting"]["joinUrl"])}</code></p>')
    rows = "".join(
        f"<tr><td>{esc(a['emailAddress']['name'])}</td><td>{esc(a['emailAddress']['address'])}</td>"
        f"<td>{'påkrævet' if a['type'] == 'required' else 'valgfri' if a['type'] == 'optional' else esc(a['type'])}</td>"
        f"<td>{esc(ANSWERS_DA.get(a['status']['response'], a['status']['response']))}</td></tr>"
        for a in event["attendees"]
    )
    if rows:
        parts.append(f"<table><tr><th>Deltager</th><th>Adresse</th><th>Type</th><th>Svar</th></tr>{rows}</table>")
    body = event.get("body") or {}
    if body.get("content"):
        if body.get("contentType") == "html":
            parts.append(f'<iframe sandbox="" title="Mødets beskrivelse" srcdoc="{esc(body["content"])}"></iframe>')
        else:
            parts.append(f"<pre>{esc(body['content'])}</pre>")
    if not event["isOrganizer"]:
        answer = event["responseStatus"]["response"]
        parts.append(f'<p class="meta">Dit svar: {esc(ANSWERS_DA.get(answer, answer))}</p>')
        if not event["isCancelled"]:
            buttons = "".join(
                f'<button type="submit" name="response" value="{value}">{label}</button>'
                for value, label in FORM_RESPONSES.items()
            )
            parts.append(
                f'<form method="post" action="/kalender/{quote(address)}/svar" class="actions">'
                f'<input type="hidden" name="event_id" value="{esc(event["id"])}">{buttons}</form>'
            )
    css = ' class="deleted"' if event["isCancelled"] else ""
    return f"<article{css}>{''.join(parts)}</article>"


def calendar_page(emulator: Emulator, address: str, flash: str | None = None) -> str:
    name = _person_name(emulator, address)
    events = sorted(emulator.calendars.get(address, []), key=lambda e: e["start"]["dateTime"])
    body = f"<h1>Kalender: {esc(name)}</h1><p class='meta'>{esc(address)}</p>"
    if flash:
        body += f'<p class="flash" role="status">{esc(flash)}</p>'
    body += "".join(_event_html(address, e) for e in events) or "<p>Ingen møder endnu.</p>"
    body += f'<p><a href="/kalender/{quote(address)}">Opdater</a></p>'
    return page(f"Kalender: {name}", body)


@routes.get("/kalender/{address}")
async def calendar(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    address = emulator.mailbox_address(request.match_info["address"])
    text = calendar_page(emulator, address, request.query.get("besked"))
    return web.Response(text=text, content_type="text/html", charset="utf-8")


@routes.post("/kalender/{address}/svar")
async def calendar_answer(request: web.Request) -> web.Response:
    """A button on the page: the attendee answers the meeting."""
    emulator = emulator_of(request)
    address = emulator.mailbox_address(request.match_info["address"])
    form = await request.post()
    response = str(form.get("response") or "")
    mine = find_event(emulator, address, str(form.get("event_id") or ""))
    event = organizer_event(emulator, mine["id"]) if mine is not None else None
    if event is None or event["isCancelled"] or response not in RESPONSES:
        message = "Mødet findes ikke (længere) eller er aflyst."
    else:
        try:
            respond(emulator, event, address, response)
            message = f"Dit svar er sendt: {ANSWERS_DA[response]}."
        except LookupError:
            message = "Du er ikke inviteret til mødet (længere)."
    raise web.HTTPSeeOther(f"/kalender/{quote(address)}?besked={quote(message)}")
