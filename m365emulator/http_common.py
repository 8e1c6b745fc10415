"""What the emulator's routes share: the app key, the request's record, and error answers in each API's shape."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid

from aiohttp import web

from .limits import retry_after_seconds
from .state import Emulator

EMULATOR = web.AppKey("m365emulator", Emulator)
# The request's record (a typed key where aiohttp has them, 3.12 and later).
RECORD = web.RequestKey("m365emulator.record", dict) if hasattr(web, "RequestKey") else "m365emulator.record"


def emulator_of(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def note(request: web.Request, **fields) -> None:
    """Add fields to the request's record (if it is a recorded API request)."""
    record = request.get(RECORD)
    if record is not None:
        record.update(fields)


def _retry_headers(retry_after: float | None) -> dict[str, str]:
    return {} if retry_after is None else {"Retry-After": str(retry_after_seconds(retry_after))}


def graph_error(
    request: web.Request, status: int, code: str, message: str, *, retry_after: float | None = None
) -> web.Response:
    """Graph's error JSON: `{"error": {"code", "message", "innerError"}}`."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "")
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now,
                "request-id": request_id,
                "client-request-id": request.headers.get("client-request-id", request_id),
            },
        }
    }
    headers = {"request-id": request_id, **_retry_headers(retry_after)}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
    note(request, error_code=code)
    return web.json_response(body, status=status, headers=headers)


def connector_error(
    request: web.Request, status: int, code: str, message: str, *, retry_after: float | None = None
) -> web.Response:
    """The Bot Connector's error JSON: `{"error": {"code", "message"}}`."""
    note(request, error_code=code)
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=_retry_headers(retry_after)
    )


def token_error(request: web.Request, status: int, error: str, aadsts: int, description: str) -> web.Response:
    """Entra ID's OAuth error JSON, as "Microsoft Entra authentication and authorization error codes"
    (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes, "Handling error
    codes in your application") shows it: `error`, `error_description` ("AADSTS<code>: <text>" then
    the trace id, correlation id and timestamp on lines of their own), `error_codes`, `timestamp`,
    `trace_id`, `correlation_id`, `error_uri`."""
    now = dt.datetime.now(dt.timezone.utc)
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    note(request, error_code=f"AADSTS{aadsts}")
    return web.json_response(
        {
            "error": error,
            "error_description": (
                f"AADSTS{aadsts}: {description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}"
                f"\r\nTimestamp: {stamp}"
            ),
            "error_codes": [aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}",
        },
        status=status,
    )


def api_error(request: web.Request, api: str, status: int, *, retry_after: float | None = None) -> web.Response:
    """A fault or throttle answer in the shape of the API asked."""
    if status == 429:
        code, message = "TooManyRequests", "Too many requests (fault injected by the emulator)."
    else:
        code, message = "ServiceUnavailable", f"The service is unavailable (fault {status} injected by the emulator)."
    if api == "graph":
        return graph_error(request, status, code, message, retry_after=retry_after)
    if api == "bot":
        return connector_error(request, status, code, message, retry_after=retry_after)
    if status == 429:
        response = token_error(request, 429, "temporarily_unavailable", 50196, "The server is throttling requests.")
    else:
        response = token_error(request, status, "temporarily_unavailable", 90033, "A transient error has occurred.")
    response.headers.update(_retry_headers(retry_after))
    return response


async def read_json(request: web.Request) -> object:
    """The body as JSON; ValueError if it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        raise ValueError("empty body")
    return json.loads(raw)


def skiptoken(scope: str, offset: int) -> str:
    """An opaque `$skiptoken` for the page starting at `offset` of a listing of `scope`."""
    raw = json.dumps({"s": scope, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def skip_offset(token: str, scope: str) -> int | None:
    """The offset a `$skiptoken` stands for, or None if it is not one of `scope`'s."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["o"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return offset if data.get("s") == scope and offset >= 0 else None
