"""`POST /api/messages`: where Teams (the Bot Framework) delivers activities to the bot.

Every request's bearer token is checked (``activity_auth.py``) before the Agents SDK sees the
activity. A refused request is not processed: 401 when it has no ``Authorization`` header, 403 when
the token or its key's endorsement does not pass, 503 when the keys to check it could not be had
("Authentication with the Bot Connector API", learn.microsoft.com/en-us/azure/bot-service/rest-api/
bot-framework-rest-connector-authentication#connector-to-bot).

A body the SDK could not read is refused before it gets there, with a Danish answer in the API's
error shape ``{"fejl": ...}``: one not sent as UTF-8 JSON, not a JSON object, nested too deeply
(``request_input.body_limits``), or an activity whose fields are not of their types (the SDK's
own model, which would otherwise fail with a server error) - 400, naming the field.
"""
from __future__ import annotations

import json
import logging
import warnings

from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from pydantic import ValidationError

from . import access
from .activity_auth import ActivityRejected, MissingCredentials
from .keys import SERVICES
from .request_input import bad_request

log = logging.getLogger(__name__)
MAX_ACTIVITY = 256 * 1024
KEYS_RETRY_AFTER = 30  # seconds, when the keys could not be fetched


def refusal(rejected: ActivityRejected) -> web.HTTPException:
    """The answer to a refused activity (the reason is logged, never sent)."""
    if rejected.status == 401:
        return web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"},
                                    text="Anmodningen mangler et Bearer-token.")
    if rejected.status == 503:
        return web.HTTPServiceUnavailable(headers={"Retry-After": str(KEYS_RETRY_AFTER)},
                                          text="Tokenet kan ikke kontrolleres lige nu; prøv igen.")
    return web.HTTPForbidden(text="Tokenet blev ikke godkendt.")


@access.rule(access.BOT)
async def messages(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    authorization = request.headers.get("Authorization")
    if not authorization:
        raise refusal(MissingCredentials("no Authorization header"))
    if request.content_length and request.content_length > MAX_ACTIVITY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_ACTIVITY, actual_size=request.content_length)
    activity = await _json_object(request)
    try:
        claims = await services.validator.validate(authorization,
                                                   service_url=activity.get("serviceUrl"),
                                                   channel_id=activity.get("channelId"))
    except ActivityRejected as rejected:
        log.warning("activity refused (%s): %s", rejected.status, rejected)
        raise refusal(rejected)
    _check_fields(activity)
    token = authorization.strip().partition(" ")[2].strip()
    with warnings.catch_warnings():
        # the Agents SDK reads the identity under this plain string key
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        request["claims_identity"] = ClaimsIdentity(claims, "Bearer", token)
    return await services.adapter.process(request, services.agent)


async def _json_object(request: web.Request) -> dict:
    """The body as a JSON object, or the 400 answer raised."""
    if request.content_type != "application/json" or (request.charset or "utf-8").lower() not in (
            "utf-8", "utf8"):
        raise bad_request("Aktiviteten skal sendes som JSON (application/json, UTF-8).")
    raw = await request.read()
    try:
        activity = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad_request("Aktiviteten er ikke gyldig JSON.") from None
    if not isinstance(activity, dict):
        raise bad_request("Aktiviteten skal være et JSON-objekt.")
    return activity


def _check_fields(activity: dict) -> None:
    """As the SDK reads the activity: every field of its type, and a type and a conversation;
    or the 400 answer naming the fields."""
    try:
        read = Activity.model_validate(activity)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in e["loc"]) or "aktivitet"
                         for e in error.errors()})
        raise bad_request("Aktiviteten har felter af forkert type: " + ", ".join(fields[:5])
                          ) from None
    missing = [name for name, value in (("type", read.type), (
        "conversation.id", read.conversation.id if read.conversation else None)) if not value]
    if missing:
        raise bad_request("Aktiviteten mangler " + " og ".join(missing) + ".")


def routes() -> list[web.RouteDef]:
    return [web.post("/api/messages", messages)]
