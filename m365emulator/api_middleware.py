"""Around every token, Graph and connector request: record it, delay it, perhaps fault it.

A route takes part when its name starts with its API (`graph:send_mail`, `bot:post_activity`,
`token:token`). Graph routes on `users/{user}` also hold one of the mailbox's 4 concurrent slots
while they are delayed and handled.

A lost answer (faults.py, `lost_rate`) is played after the handler: the request has taken effect
and is recorded with its status and `fault: "lost"`, then the connection is closed without an
answer, at once (`lost_mode: "reset"`) or once the client has given up waiting (`"timeout"`).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp import web

from .http_common import EMULATOR, RECORD, api_error, graph_error
from .records import parse_body

RECORDED_APIS = ("graph", "bot", "token")
# Methods whose requests change something (a read's lost answer would only be a drop).
CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The request's lost answer (its RequestFate), if one was drawn.
LOST = web.RequestKey("m365emulator.lost", object) if hasattr(web, "RequestKey") else "m365emulator.lost"


def api_of(request: web.Request) -> str | None:
    name = request.match_info.route.name or ""
    api = name.partition(":")[0]
    return api if api in RECORDED_APIS else None


@web.middleware
async def base_url_middleware(request: web.Request, handler):
    """Learn where we are served from the first request, if nobody told us."""
    emulator = request.app[EMULATOR]
    if emulator.base_url is None:
        emulator.base_url = f"{request.scheme}://{request.host}"
    return await handler(request)


@web.middleware
async def api_middleware(request: web.Request, handler):
    api = api_of(request)
    if api is None:
        return await handler(request)
    emulator = request.app[EMULATOR]
    record: dict = {
        "api": api,
        "ts_start": time.time(),
        "ts_end": None,
        "method": request.method,
        "path": request.path,
        "query": request.query_string or None,
        "status": None,
        "body": None,
        "retry_after": None,
        "fault": None,
    }
    request[RECORD] = record
    mailbox = None
    if api == "graph" and "user" in request.match_info:
        mailbox = emulator.mailbox_address(request.match_info["user"])
        record["mailbox"] = mailbox
    try:
        record["body"] = parse_body(await request.read(), request.content_type, api=api)
        response = await _answer(request, handler, api, mailbox)
    except web.HTTPException as exc:
        _finish(emulator, record, exc)
        raise
    except asyncio.CancelledError:
        record["error"] = "the client went away"
        record["ts_end"] = time.time()
        emulator.log.add(record)
        raise
    except Exception as exc:
        record["status"] = 500
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["ts_end"] = time.time()
        emulator.log.add(record)
        raise
    _finish(emulator, record, response)
    if api == "bot" and response is not None and not response.prepared:
        # "every response will contain an X-Correlating-OperationId header" (Bot Connector API
        # reference, "Response headers")
        response.headers.setdefault("X-Correlating-OperationId", uuid.uuid4().hex)
    if response is not None and request.get(LOST) is not None:
        await _lose_answer(request, request[LOST])
        response = None
    if response is None:
        # The connection is gone: aiohttp fails to write this and drops the request quietly.
        return web.Response(status=502)
    return response


async def _answer(request: web.Request, handler, api: str, mailbox: str | None) -> web.StreamResponse | None:
    emulator = request.app[EMULATOR]
    fate = emulator.request_fate(api, changes_something=request.method in CHANGING_METHODS)
    if mailbox is not None and not emulator.quotas.enter_mailbox(mailbox):
        return graph_error(
            request,
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            retry_after=1,
        )
    try:
        if fate.delay:
            await asyncio.sleep(fate.delay)
        if fate.outcome == "drop":
            request[RECORD]["fault"] = "drop"
            _drop_connection(request)
            return None
        if fate.outcome == "error":
            request[RECORD]["fault"] = "error"
            return api_error(request, api, fate.error_status)
        if fate.outcome == "throttle":
            request[RECORD]["fault"] = "throttle"
            return api_error(request, api, 429, retry_after=fate.retry_after)
        response = await handler(request)
        if fate.outcome == "lost":  # it took effect; the answer will not arrive
            request[RECORD].update(fault="lost", lost_mode=fate.lost_mode)
            request[LOST] = fate
        return response
    finally:
        if mailbox is not None:
            emulator.quotas.leave_mailbox(mailbox)


def _drop_connection(request: web.Request) -> None:
    """Close the connection without answering, as a failing load balancer would."""
    transport = request.transport
    if transport is not None:
        transport.abort()


async def _lose_answer(request: web.Request, fate) -> None:
    """Close the connection without the answer: at once, or after holding it until the client
    stops waiting (its own timeout) or `lost_hold_s` has passed."""
    if fate.lost_mode == "timeout":
        loop = asyncio.get_running_loop()
        ends = loop.time() + fate.lost_hold_s
        while loop.time() < ends:
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            await asyncio.sleep(min(0.05, max(0.0, ends - loop.time())))
    _drop_connection(request)


def _finish(emulator, record: dict, response: web.StreamResponse | None) -> None:
    record["ts_end"] = time.time()
    if response is not None:
        record["status"] = response.status
        retry_after = response.headers.get("Retry-After")
        record["retry_after"] = int(retry_after) if retry_after and retry_after.isdigit() else retry_after
    emulator.log.add(record)
