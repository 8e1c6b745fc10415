"""`POST /api/messages`: where Teams (the Bot Framework) delivers activities to the bot.

Every request's bearer token is checked (``activity_auth.py``) before the Agents SDK sees the
activity. A refused request is not processed: 401 when it has no ``Authorization`` header, 403 when
the token or its key's endorsement does not pass, 503 when the keys to check it could not be had
("Authentication with the Bot Connector API", learn.microsoft.com/en-us/azure/bot-service/rest-api/
bot-framework-rest-connector-authentication#connector-to-bot).
"""
from __future__ import annotations

import json
import logging
import warnings

from aiohttp import web
from microsoft_agents.hosting.core.authorization import ClaimsIdentity

from . import access
from .activity_auth import ActivityRejected, MissingCredentials
from .keys import SERVICES

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
    raw = await request.read()
    try:
        activity = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="Aktiviteten er ikke gyldig JSON.")
    fields = activity if isinstance(activity, dict) else {}
    try:
        claims = await services.validator.validate(authorization,
                                                   service_url=fields.get("serviceUrl"),
                                                   channel_id=fields.get("channelId"))
    except ActivityRejected as rejected:
        log.warning("activity refused (%s): %s", rejected.status, rejected)
        raise refusal(rejected)
    token = authorization.strip().partition(" ")[2].strip()
    with warnings.catch_warnings():
        # the Agents SDK reads the identity under this plain string key
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        request["claims_identity"] = ClaimsIdentity(claims, "Bearer", token)
    return await services.adapter.process(request, services.agent)


def routes() -> list[web.RouteDef]:
    return [web.post("/api/messages", messages)]
