"""Checking the bearer token on every activity the Bot Framework (or the emulator) sends us.

The signing keys come from the OpenID metadata document named in configuration (Bot Framework's
in production, the emulator's in tests). A token is accepted only if its signature verifies
with a published RS256 key and its issuer, audience (our bot's app id), lifetime and
``serviceurl`` claim (the activity's serviceUrl) all hold.
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
import jwt
from jwt import PyJWKClient

METADATA_TTL = 24 * 3600
CLOCK_SKEW = 300  # seconds, as the Bot Framework SDKs allow


class ActivityRejected(Exception):
    """The activity's token does not pass; the message says why (logged, not shown to callers)."""


class ActivityTokenValidator:
    def __init__(self, http: aiohttp.ClientSession, *, metadata_url: str, issuer: str,
                 app_id: str) -> None:
        self._http = http
        self.metadata_url = metadata_url
        self.issuer = issuer
        self.app_id = app_id
        self._jwks: PyJWKClient | None = None
        # kid -> key, kept as long as the metadata: verifying a token is then a local check
        # on the event loop (no thread, no fetch); an unknown kid fetches the key set again.
        self._signing_keys: dict = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _keys(self) -> PyJWKClient:
        async with self._lock:
            if self._jwks is None or time.monotonic() - self._fetched_at > METADATA_TTL:
                try:
                    async with self._http.get(self.metadata_url,
                                              timeout=aiohttp.ClientTimeout(total=10)) as response:
                        response.raise_for_status()
                        metadata = await response.json(content_type=None)
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                    raise ActivityRejected(f"OpenID metadata unavailable: {error!r}") from error
                if "jwks_uri" not in metadata:
                    raise ActivityRejected("OpenID metadata without jwks_uri")
                self._jwks = PyJWKClient(metadata["jwks_uri"], cache_keys=True, lifespan=METADATA_TTL)
                self._signing_keys = {}
                self._fetched_at = time.monotonic()
            return self._jwks

    async def validate(self, authorization: str | None, service_url: str | None) -> dict:
        """Return the token's claims, or raise ``ActivityRejected``."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ActivityRejected("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise ActivityRejected(f"malformed token: {error}") from error
        if header.get("alg") != "RS256":
            raise ActivityRejected(f"algorithm {header.get('alg')!r} not allowed")
        jwks = await self._keys()
        try:
            key = self._signing_keys.get(header.get("kid"))
            if key is None:  # a key not seen yet: fetch the key set (blocking, so in a thread)
                key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
                self._signing_keys[key.key_id] = key
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=self.app_id,
                                issuer=self.issuer, leeway=CLOCK_SKEW,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as error:
            raise ActivityRejected(f"token refused: {error}") from error
        claimed = claims.get("serviceurl") or claims.get("serviceUrl")
        if claimed is not None and service_url is not None and \
                claimed.rstrip("/") != service_url.rstrip("/"):
            raise ActivityRejected("serviceurl claim does not match the activity")
        if claimed is None:
            raise ActivityRejected("token has no serviceurl claim")
        return claims
