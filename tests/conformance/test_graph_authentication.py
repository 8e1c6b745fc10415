"""Microsoft Graph's answer to a request without a valid access token, on every Graph route the
emulator serves, checked over HTTP.

Every Graph call of the service carries an app-only token for `https://graph.microsoft.com` from
the token endpoint (notifications/tokens.py). A request with no token, a token for another
resource (the Bot Connector's), a token that is not a JWT, or an expired one must be refused
before anything else is looked at: 401 in Graph's error shape, with `WWW-Authenticate: Bearer`.
The routes are read from the emulator's router, so a new Graph route is checked too.

Documentation checked against:
- https://learn.microsoft.com/en-us/graph/errors ("HTTP status codes": 401 Unauthorized, "Required
  authentication information is either missing or not valid for the resource"; "Error resource
  type": `error` with `code`, `message`, `innerError`)
- https://learn.microsoft.com/en-us/graph/resolve-auth-errors ("401 Unauthorized error: Is your
  token valid?": the token is missing, invalid or has expired)
- https://learn.microsoft.com/en-us/graph/auth/auth-concepts ("Access tokens": the token's
  audience is Microsoft Graph)
"""

from __future__ import annotations

import pytest

from m365emulator import Emulator, EmulatorConfig, create_emulator_app
from notifications.tokens import BOT_SCOPE

from .mailcal_support import SENDER, graph, graph_error, make_graph  # noqa: F401

GROUP = "3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0001"
FILL = {"user": SENDER, "user_id": "aaaaaaaa-0000-0000-0000-000000000001", "event_id": "AAMkAG-1",
        "installation_id": "aW5zdGFsbGF0aW9u", "chat_id": "19:chat@unq.gbl.spaces", "group_id": GROUP,
        "folder": "sentitems", "relation": "members", "cast": "microsoft.graph.group"}


def graph_routes() -> list[tuple[str, str]]:
    """(method, path with its placeholders filled) of every Graph route the emulator serves."""
    app = create_emulator_app(Emulator(EmulatorConfig()))
    found = []
    for route in app.router.routes():
        path = route.resource.canonical
        if route.method != "HEAD" and path.startswith("/v1.0/"):
            found.append((route.method, path.format(**FILL)))
    return sorted(set(found))


ROUTES = graph_routes()
IDS = [f"{method} {path}" for method, path in ROUTES]


def test_the_graph_routes_were_found():
    assert len(ROUTES) >= 15 and ("POST", f"/v1.0/users/{SENDER}/sendMail") in ROUTES


async def refused(response) -> None:
    await graph_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method, path", ROUTES, ids=IDS)
async def test_a_request_without_a_token_is_401(graph, method, path):
    """errors, 401: authentication information is missing."""
    await refused(await graph.client.request(method, path, json={}))


@pytest.mark.parametrize("method, path", ROUTES, ids=IDS)
async def test_a_token_for_another_resource_is_401(graph, method, path):
    """auth-concepts: a token for Microsoft Graph has its audience; the Bot Connector's token,
    from the same app, is not valid for Graph (resolve-auth-errors, 401: the token is invalid)."""
    response = await graph.client.post(graph.token_path, data={
        "grant_type": "client_credentials", "client_id": graph.emulator.config.bot_app_id,
        "client_secret": graph.emulator.config.bot_app_secret, "scope": BOT_SCOPE})
    token = (await response.json())["access_token"]
    await refused(await graph.client.request(method, path, json={}, headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize("method, path", ROUTES, ids=IDS)
async def test_a_token_that_is_not_a_jwt_is_401(graph, method, path):
    """resolve-auth-errors, 401: the token is invalid."""
    await refused(await graph.client.request(method, path, json={}, headers={"Authorization": "Bearer ikke.et.token"}))


async def test_an_expired_token_is_401_and_a_new_one_works(graph):
    """resolve-auth-errors, 401: "the token is invalid or has expired". A token from the same
    issuer whose `exp` has passed is refused; a new one from the token endpoint is accepted."""
    config = graph.emulator.config
    expired = graph.emulator.issue_access_token(config.bot_app_id, "https://graph.microsoft.com/.default",
                                                expires_in=-600)
    path = f"/v1.0/users/{SENDER}/mailFolders/sentitems/messages"
    await refused(await graph.client.get(path, headers={"Authorization": f"Bearer {expired}"}))
    assert (await graph.client.get(path, headers=await graph.headers())).status == 200
