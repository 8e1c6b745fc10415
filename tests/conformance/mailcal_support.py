"""What the Graph mail, calendar and directory conformance tests share: the emulator served on a
local port, tokens from its token endpoint, the msgraph-sdk client the service itself builds
(`notifications.channels.email.graph_client`), and a check of Graph's error shape."""

from __future__ import annotations

import pytest

from m365emulator import Emulator, EmulatorConfig, create_emulator_app
from m365emulator.config import DEFAULT_GRAPH_PERMISSIONS
from notifications.channels.email import graph_client
from notifications.tokens import GRAPH_SCOPE, ClientCredentialsTokens

from ..emulator.emulator_helpers import PEOPLE, FakeClock

SENDER = "ssp@kk.example"


class Graph:
    """An emulator on a test server, reached over HTTP as the service reaches Graph."""

    def __init__(self, emulator: Emulator, client, clock: FakeClock) -> None:
        self.emulator, self.client, self.clock = emulator, client, clock
        self.base_url = emulator.base_url
        self.token_path = f"/{emulator.config.tenant_id}/oauth2/v2.0/token"
        self.token_url = f"{self.base_url}{self.token_path}"
        self._sdks: list = []

    async def headers(self, **extra: str) -> dict:
        response = await self.client.post(self.token_path, data={
            "grant_type": "client_credentials", "client_id": self.emulator.config.bot_app_id,
            "client_secret": self.emulator.config.bot_app_secret, "scope": GRAPH_SCOPE})
        assert response.status == 200, await response.text()
        return {"Authorization": f"Bearer {(await response.json())['access_token']}", **extra}

    def grant(self, *permissions: str) -> None:
        """Grant only these application permissions to tokens issued from now on."""
        self.emulator.config.graph_permissions = list(permissions)

    def sdk(self, *, retries: int = 0):
        """The service's own msgraph-sdk client (token provider, middleware, no SDK retries)."""
        tokens = ClientCredentialsTokens(self.client.session, token_url=self.token_url,
                                         client_id=self.emulator.config.bot_app_id,
                                         client_secret=self.emulator.config.bot_app_secret)
        client = graph_client(tokens, f"{self.base_url}/v1.0", retries=retries)
        self._sdks.append(client)
        return client

    async def close(self) -> None:
        for client in self._sdks:
            await client.request_adapter._http_client.aclose()


@pytest.fixture
async def make_graph(aiohttp_client):
    """`await make_graph(**config)`: a Graph served by the emulator with this configuration."""
    made: list[Graph] = []

    async def make(**config) -> Graph:
        config.setdefault("people", PEOPLE)
        config.setdefault("graph_permissions", list(DEFAULT_GRAPH_PERMISSIONS))
        clock = FakeClock()
        emulator = Emulator(EmulatorConfig(**config), clock=clock)
        client = await aiohttp_client(create_emulator_app(emulator))
        emulator.base_url = str(client.make_url("/")).rstrip("/")
        made.append(Graph(emulator, client, clock))
        return made[-1]

    yield make
    for graph in made:
        await graph.close()


@pytest.fixture
async def graph(make_graph) -> Graph:
    return await make_graph()


async def graph_error(response, status: int, code: str | None = None) -> dict:
    """Graph's error shape (Microsoft Graph error responses and resource types):
    `{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"])
    assert response.headers["request-id"] == error["innerError"]["request-id"]
    if code is not None:
        assert error["code"] == code, error
    return error
