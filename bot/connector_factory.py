"""How the Agents SDK gets its Connector clients: with our own app-only token provider.

The SDK's MSAL-based factory needs Entra ID's https authority; ours asks the token endpoint named
in configuration, so the same code talks to Microsoft and to the local emulator. The bot does not
use per-user OAuth (sign-in to the web app is separate), so the user-token client refuses use.
"""
from __future__ import annotations

import aiohttp
from microsoft_agents.hosting.core.connector.client.connector_client import ConnectorClient

from notifications.tokens import BOT_SCOPE, ClientCredentialsTokens


class NoUserTokens:
    """The bot asks for no user tokens; any attempt is a programming error."""

    def __getattr__(self, name):
        raise NotImplementedError("SSP Beredskab's bot does not use user-token sign-in")

    async def close(self) -> None:
        return None


class ConnectorOnFirstUse:
    """A turn's Connector client, made when the turn first sends something. A card press is
    answered in the HTTP response and sends nothing, so it does not pay for a client (an HTTP
    session, and the SDK's look-up of its own version in the installed packages' metadata)."""

    def __init__(self, make) -> None:
        self._make = make
        self._client = None

    def __getattr__(self, name):
        if self._client is None:
            self._client = self._make()
        return getattr(self._client, name)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class ConnectorClientFactory:
    def __init__(self, tokens: ClientCredentialsTokens) -> None:
        self._tokens = tokens

    async def create_connector_client(self, context, claims_identity, service_url: str,
                                      audience: str, scopes=None, use_anonymous: bool = False):
        token = await self._tokens.token(BOT_SCOPE)
        endpoint = service_url if service_url.endswith("/") else service_url + "/"
        return ConnectorOnFirstUse(lambda: ConnectorClient(
            endpoint, token, session=aiohttp.ClientSession(
                base_url=endpoint, timeout=aiohttp.ClientTimeout(total=30))))

    async def create_user_token_client(self, context, claims_identity, use_anonymous: bool = False):
        return NoUserTokens()
