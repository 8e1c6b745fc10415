"""`POST /api/messages`: where Teams (the Bot Framework) delivers activities to the bot.

Every request's bearer token is checked against the OpenID metadata before the Agents SDK sees
the activity; a request that fails gets 401 and is not processed.
"""
from __future__ import annotations

import json
import logging
import warnings

from aiohttp import web
from microsoft_agents.hosting.core.authorization import ClaimsIdentity

from . import access
from .activity_auth import ActivityRejected
from .keys import SERVICES

log = logging.getLogger(__name__)
MAX_ACTIVITY = 256 * 1024


@access.rule(access.BOT)
async def messages(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if request.content_length and request.content_length > MAX_ACTIVITY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_ACTIVITY, actual_size=request.content_length)
    raw = await request.read()
    try:
        activity = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="activity is not JSON")
    service_url = activity.get("serviceUrl") if isinstance(activity, dict) else None
    try:
        claims = await services.validator.validate(request.headers.get("Authorization"),
                                                   service_url)
    except ActivityRejected as rejected:
        log.warning("activity refused: %s", rejected)
        raise web.HTTPUnauthorized(text="unauthorized")
    token = request.headers["Authorization"].partition(" ")[2]
    with warnings.catch_warnings():
        # the Agents SDK reads the identity under this plain string key
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        request["claims_identity"] = ClaimsIdentity(claims, "Bearer", token)
    return await services.adapter.process(request, services.agent)


def routes() -> list[web.RouteDef]:
    return [web.post("/api/messages", messages)]
