"""What the bot authentication and identity platform conformance tests share: the emulator served
on a local port (reached over HTTP as the service reaches Microsoft), a small bot endpoint that
keeps what the emulator sends it, and a check of Entra ID's OAuth error shape."""

from __future__ import annotations

import re
import uuid

import pytest
from aiohttp import web

from m365emulator import Emulator, EmulatorConfig, create_emulator_app

from ..emulator.emulator_helpers import PEOPLE, FakeClock

BOT_OPENID_PATH = "/botframework/v1/.well-known/openidconfiguration"


class Entra:
    """An emulator on a test server: Entra ID's endpoints and the Bot Framework's keys."""

    def __init__(self, emulator: Emulator, client, clock: FakeClock) -> None:
        self.emulator, self.client, self.clock = emulator, client, clock
        self.base_url = emulator.base_url
        self.tenant = emulator.config.tenant_id
        self.app_id = emulator.config.bot_app_id
        self.secret = emulator.config.bot_app_secret
        self.token_path = f"/{self.tenant}/oauth2/v2.0/token"
        self.token_url = f"{self.base_url}{self.token_path}"
        self.authority = f"{self.base_url}/{self.tenant}/v2.0"
        self.bot_openid_url = f"{self.base_url}{BOT_OPENID_PATH}"

    async def token(self, **form):
        """POST the form (None drops a field) to the token endpoint; client credentials by default."""
        data = {"grant_type": "client_credentials", "client_id": self.app_id, "client_secret": self.secret,
                "scope": "https://graph.microsoft.com/.default", **form}
        return await self.client.post(self.token_path, data={k: v for k, v in data.items() if v is not None})


@pytest.fixture
async def make_entra(aiohttp_client):
    async def make(**config) -> Entra:
        config.setdefault("people", PEOPLE)
        clock = FakeClock()
        emulator = Emulator(EmulatorConfig(**config), clock=clock)
        client = await aiohttp_client(create_emulator_app(emulator))
        emulator.base_url = str(client.make_url("/")).rstrip("/")
        return Entra(emulator, client, clock)

    return make


@pytest.fixture
async def entra(make_entra) -> Entra:
    return await make_entra()


class CapturingBot:
    """A bot endpoint that keeps each request's Authorization header and activity, and says 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[str | None, dict]] = []
        self.endpoint = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.headers.get("Authorization"), await request.json()))
        return web.Response(status=200)


@pytest.fixture
async def capturing_bot(aiohttp_server) -> CapturingBot:
    bot = CapturingBot()
    app = web.Application()
    app.router.add_post("/api/messages", bot.handle)
    server = await aiohttp_server(app)
    bot.endpoint = str(server.make_url("/api/messages"))
    return bot


TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$")


async def oauth_error(response, status: int, error: str, aadsts: int) -> dict:
    """Entra ID's error response ("Microsoft Entra authentication and authorization error codes",
    https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes, "Handling error
    codes in your application"): `error`, `error_description` starting with the AADSTS code and
    ending with the trace id, correlation id and timestamp on lines of their own, `error_codes`,
    `timestamp`, `trace_id`, `correlation_id` and `error_uri`."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["error"] == error, body
    assert body["error_codes"] == [aadsts], body
    assert TIMESTAMP.match(body["timestamp"]), body["timestamp"]
    uuid.UUID(body["trace_id"]), uuid.UUID(body["correlation_id"])
    description = body["error_description"]
    assert description.startswith(f"AADSTS{aadsts}: "), description
    assert description.endswith(f"\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}"
                                f"\r\nTimestamp: {body['timestamp']}"), description
    assert body["error_uri"] == f"https://login.microsoftonline.com/error?code={aadsts}"
    return body
