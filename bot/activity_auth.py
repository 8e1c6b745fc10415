"""Checking the bearer token on every activity the Bot Connector (or the emulator) sends the bot.

As "Authentication with the Bot Connector API", section "Authenticate requests from the Bot
Connector service to your bot" (learn.microsoft.com/en-us/azure/bot-service/rest-api/
bot-framework-rest-connector-authentication#connector-to-bot) asks: the OpenID metadata document
(configured; Bot Framework's in production, the emulator's in tests) names the key set
(``jwks_uri``) and the signing algorithms (``id_token_signing_alg_values_supported``); each key in
the set carries ``endorsements``, the channel ids it may sign for. A token is accepted only if

1. it came in the ``Authorization`` header with the ``Bearer`` scheme,
2. it is a well-formed JWT,
3. its issuer is the Bot Framework's (``https://api.botframework.com``),
4. its audience is the bot's app id,
5. it is within its validity period, with 5 minutes of clock skew,
6. its signature verifies with a key of the key set, by an algorithm the metadata names,
7. its ``serviceurl`` claim is the activity's ``serviceUrl``,

and the key that signed it is endorsed for the activity's ``channelId`` (Step 3 and Step 4).

How a refusal is answered: the page says 403 Forbidden for a key without the endorsement and for a
token that does not meet the requirements; a request with no ``Authorization`` header at all
carries no credentials and gets 401 with ``WWW-Authenticate: Bearer`` (RFC 7235 section 3.1,
RFC 6750 section 3). When the keys cannot be fetched the fault is ours, not the caller's: 503.

The key set is kept for 24 hours (the page: refresh "at least once every 24 hours"); a token
signed with a key id not in it fetches the set again, at most once every 5 minutes.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import aiohttp
import jwt

METADATA_TTL = 24 * 3600
KEY_REFETCH_AFTER = 300
CLOCK_SKEW = 300  # seconds: "Industry-standard clock-skew is 5 minutes."
# Asymmetric algorithms only: a key set's public key must never pass as an HMAC secret.
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})

log = logging.getLogger(__name__)


class ActivityRejected(Exception):
    """The activity's token does not pass: answered 403. The message says why (logged only)."""

    status = 403


class MissingCredentials(ActivityRejected):
    """No ``Authorization`` header at all: answered 401."""

    status = 401


class KeysUnavailable(ActivityRejected):
    """The OpenID metadata or the key set could not be fetched or read: answered 503."""

    status = 503


@dataclass(frozen=True)
class PublishedKey:
    """One key of the Bot Connector's key set and the channel ids it is endorsed for."""

    key: jwt.PyJWK
    endorsements: frozenset[str]


class ActivityTokenValidator:
    def __init__(self, http: aiohttp.ClientSession, *, metadata_url: str, issuer: str,
                 app_id: str) -> None:
        self._http = http
        self.metadata_url = metadata_url
        self.issuer = issuer
        self.app_id = app_id
        # kid -> key, kept with the metadata's algorithms: verifying a token is then a local
        # check on the event loop; an unknown kid fetches the key set again.
        self._keys: dict[str, PublishedKey] = {}
        self._algorithms: list[str] = []
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def _fetch_json(self, url: str) -> dict:
        try:
            async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                response.raise_for_status()
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise KeysUnavailable(f"{url} could not be fetched: {error!r}") from error
        if not isinstance(document, dict):
            raise KeysUnavailable(f"{url} is not a JSON object")
        return document

    async def _refresh(self) -> None:
        metadata = await self._fetch_json(self.metadata_url)
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise KeysUnavailable("OpenID metadata without jwks_uri")
        named = metadata.get("id_token_signing_alg_values_supported")
        algorithms = [a for a in named if a in ASYMMETRIC_ALGORITHMS] if isinstance(named, list) else []
        if not algorithms:
            raise KeysUnavailable(f"OpenID metadata names no usable signing algorithm: {named!r}")
        document = await self._fetch_json(jwks_uri)
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise KeysUnavailable("the key set has no keys")
        keys: dict[str, PublishedKey] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError as error:
                log.warning("activity keys: key %r is not usable: %s", entry.get("kid"), error)
                continue
            endorsed = entry.get("endorsements")
            channels = frozenset(c for c in endorsed if isinstance(c, str)) if isinstance(endorsed, list) \
                else frozenset()
            keys[entry["kid"]] = PublishedKey(key, channels)
        self._keys, self._algorithms, self._fetched_at = keys, algorithms, time.monotonic()

    async def _published_key(self, kid: str) -> PublishedKey:
        async with self._lock:
            age = None if self._fetched_at is None else time.monotonic() - self._fetched_at
            if age is None or age > METADATA_TTL or (kid not in self._keys and age > KEY_REFETCH_AFTER):
                await self._refresh()
        published = self._keys.get(kid)
        if published is None:
            raise ActivityRejected(f"signing key {kid!r} is not in the key set")
        return published

    async def validate(self, authorization: str | None, *, service_url: object,
                       channel_id: object) -> dict:
        """The token's claims, or ``ActivityRejected`` (with the status to answer)."""
        if authorization is None or not authorization.strip():
            raise MissingCredentials("no Authorization header")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
            raise ActivityRejected("not a Bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise ActivityRejected(f"malformed token: {error}") from error
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ActivityRejected("token header without kid")
        published = await self._published_key(kid)
        if header.get("alg") not in self._algorithms:
            raise ActivityRejected(f"algorithm {header.get('alg')!r} is not one the metadata names")
        try:
            claims = jwt.decode(token, published.key.key, algorithms=self._algorithms,
                                audience=self.app_id, issuer=self.issuer, leeway=CLOCK_SKEW,
                                options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as error:
            raise ActivityRejected(f"token refused: {error}") from error
        claimed = claims.get("serviceurl", claims.get("serviceUrl"))
        if not isinstance(claimed, str) or not claimed:
            raise ActivityRejected("token has no serviceurl claim")
        if not isinstance(service_url, str) or claimed.rstrip("/") != service_url.rstrip("/"):
            raise ActivityRejected("serviceurl claim does not match the activity's serviceUrl")
        if not isinstance(channel_id, str) or channel_id not in published.endorsements:
            raise ActivityRejected(f"signing key {kid!r} is not endorsed for channel {channel_id!r}")
        return claims
