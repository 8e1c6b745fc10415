"""Each request observed: its id and route in the log context, one log line, its latency in the
metrics; and the long-lived event streams closed when the service stops.

``observe`` runs first (outside the access guard), so refusals are counted too;
``incident_context`` runs after the guard, which has named the incident the route is about.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from aiohttp import web

from handleplaner.log_context import FIELDS, bind, scope

from . import access
from .keys import SERVICES

log = logging.getLogger("bot.requests")

REQUEST_ID_HEADER = "X-Request-Id"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
UNMATCHED = "(ingen rute)"
QUIET_ROUTES = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes: debug level only
STREAMS = web.AppKey("beredskab_streams", set)


def route_of(request: web.Request) -> str:
    """The route's pattern (``/haendelser/{incident_id}``), never the raw path, so the metric's
    labels stay few."""
    info = request.match_info
    if info.http_exception is not None or info.route is None or info.route.resource is None:
        return UNMATCHED
    return info.route.resource.canonical


def _is_stream(route: str) -> bool:
    return route.endswith("/stroem")


@web.middleware
async def observe(request: web.Request, handler):
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _GOOD_ID.match(given) else uuid.uuid4().hex[:16]
    route = route_of(request)
    started = time.perf_counter()
    status = 500
    streams = request.app.get(STREAMS)
    task = asyncio.current_task()
    if streams is not None and _is_stream(route) and task is not None:
        streams.add(task)
    with scope(**{name: None for name in FIELDS}):
        bind(request_id=request_id, route=route)
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response
        except web.HTTPException as error:
            status = error.status
            error.headers[REQUEST_ID_HEADER] = request_id
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away, or the service is stopping
            raise
        finally:
            seconds = time.perf_counter() - started
            if streams is not None:
                streams.discard(task)
            services = request.app.get(SERVICES)
            metrics = getattr(services, "metrics", None)
            if metrics is not None:
                metrics.request_done(route, request.method, status, seconds)
            level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
            log.log(level, "%s %s %d %.1f ms", request.method, route, status, seconds * 1000)


@web.middleware
async def incident_context(request: web.Request, handler):
    incident_id = request.get(access.INCIDENT_KEY)
    if incident_id is not None:
        bind(incident_id=incident_id)
    return await handler(request)


async def close_streams(app: web.Application) -> None:
    """On shutdown: end the event streams at once (the browser reconnects, to another replica),
    so the stop waits only for ordinary requests."""
    for task in list(app[STREAMS]):
        task.cancel()


def install(app: web.Application) -> None:
    app[STREAMS] = set()
    app.on_shutdown.append(close_streams)
