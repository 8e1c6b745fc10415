"""App-only access tokens (OAuth 2.0 client credentials) for Graph and the Bot Connector.

One small provider for both, talking to the token endpoint named in configuration (Entra ID in
production, the local emulator in tests and the demo). Tokens are cached per scope until shortly
before they expire; concurrent callers share one request.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
BOT_SCOPE = "https://api.botframework.com/.default"
REFRESH_MARGIN = 300  # seconds before expiry a token is renewed


class TokenError(Exception):
    """The token endpoint refused or could not be reached."""


@dataclass
class _Cached:
    token: str
    expires_at: float


class ClientCredentialsTokens:
    def __init__(self, http: aiohttp.ClientSession, *, token_url: str, client_id: str,
                 client_secret: str, clock=time.monotonic) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def token(self, scope: str) -> str:
        cached = self._cache.get(scope)
        if cached and cached.expires_at - REFRESH_MARGIN > self._clock():
            return cached.token
        lock = self._locks.setdefault(scope, asyncio.Lock())
        async with lock:
            cached = self._cache.get(scope)
            if cached and cached.expires_at - REFRESH_MARGIN > self._clock():
                return cached.token
            fresh = await self._request(scope)
            self._cache[scope] = fresh
            return fresh.token

    def forget(self, scope: str) -> None:
        """Drop a cached token (after a 401 the next call fetches a new one)."""
        self._cache.pop(scope, None)

    async def _request(self, scope: str) -> _Cached:
        form = {"grant_type": "client_credentials", "client_id": self._client_id,
                "client_secret": self._client_secret, "scope": scope}
        try:
            async with self._http.post(self._token_url, data=form,
                                       timeout=aiohttp.ClientTimeout(total=30)) as response:
                body = await response.json(content_type=None)
                if response.status != 200 or "access_token" not in (body or {}):
                    detail = (body or {}).get("error_description") or (body or {}).get("error")
                    # Entra ID puts the trace and correlation ids on lines of their own: one line.
                    detail = " ".join(str(detail).split())
                    raise TokenError(f"token-endpoint svarede {response.status}: {detail}")
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise TokenError(f"forbindelsesfejl: token-endpoint kan ikke nås ({error!r})") from error
        return _Cached(token=body["access_token"],
                       expires_at=self._clock() + float(body.get("expires_in", 3599)))
