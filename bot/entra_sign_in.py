"""Signing in with Microsoft Entra ID: OpenID Connect, the authorization code flow with PKCE.

The browser is sent to Entra ID's authorize endpoint with a state, a nonce and a PKCE challenge;
Entra ID sends it back with a code, which is exchanged (client secret and PKCE verifier) for an
id_token. The id_token's signature is checked against the keys Entra ID publishes (the discovery
document's ``jwks_uri``), then its issuer, audience, expiry, tenant and nonce. Only then does the
caller learn who signed in (``Identity``); the routes (``sign_in_pages.py``) map that to a person.

Everything comes from ``<authority>/.well-known/openid-configuration``, so the same code signs in
against Entra ID and the local emulator.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import time
import warnings
from dataclasses import asdict, dataclass

import httpx
import jwt
from aiohttp import web
from authlib.integrations.base_client import OAuthError

with warnings.catch_warnings():
    # Authlib asks for the newer httpx2 package; until it is installed it uses httpx, which works.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from .settings import Settings

try:  # what Authlib's client raises when Entra ID cannot be reached
    import httpx2
    HTTP_ERRORS: tuple = (httpx.HTTPError, httpx2.HTTPError, ValueError)
except ImportError:
    HTTP_ERRORS = (httpx.HTTPError, ValueError)

SCOPE = "openid profile email"
CALLBACK_PATH = "/log-ind/microsoft/svar"
TIMEOUT_SECONDS = 10.0
DISCOVERY_TTL = 24 * 3600  # the discovery document and the keys are fetched again after this
KEY_REFETCH_AFTER = 300  # an unknown key id fetches the keys again, at most this often
LEEWAY_SECONDS = 120  # clock skew allowed on exp/iat/nbf

UNREACHABLE = "Microsoft kunne ikke nås. Prøv igen om lidt."
REFUSED = "Microsoft godkendte ikke log ind. Prøv igen."
INVALID = "Svaret fra Microsoft kunne ikke bekræftes. Prøv igen."

log = logging.getLogger(__name__)


class SignInFailed(Exception):
    """Sign-in did not succeed; the message is Danish and safe to show. ``status``: 502 when
    Entra ID could not be reached, else 400."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Attempt:
    """One sign-in under way: what must come back (state, nonce) and the PKCE verifier."""

    state: str
    nonce: str
    code_verifier: str
    next: str = "/"

    @classmethod
    def new(cls, next_path: str = "/") -> "Attempt":
        return cls(state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24),
                   code_verifier=secrets.token_urlsafe(64), next=next_path)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> "Attempt | None":
        if not isinstance(data, dict):
            return None
        try:
            values = {name: data[name] for name in ("state", "nonce", "code_verifier", "next")}
        except KeyError:
            return None
        return cls(**values) if all(isinstance(v, str) and v for v in values.values()) else None


@dataclass(frozen=True)
class Identity:
    """Who Entra ID says signed in."""

    object_id: str
    tenant_id: str
    email: str  # lower case
    name: str


class EntraSignIn:
    """The service's side of sign-in with Entra ID (one app registration, one tenant)."""

    def __init__(self, *, authority: str, tenant_id: str, client_id: str, client_secret: str,
                 redirect_uri: str) -> None:
        self.authority = authority.rstrip("/")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._metadata: dict | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "EntraSignIn | None":
        if not settings.entra_sign_in:
            return None
        return cls(authority=settings.entra_authority_url, tenant_id=settings.tenant_id,
                   client_id=settings.entra_client_id,
                   client_secret=settings.entra_client_secret,
                   redirect_uri=f"{settings.public_url}{CALLBACK_PATH}")

    # -- Entra ID's published documents ---------------------------------------------------------

    async def _get_json(self, url: str) -> dict:
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:
                response = await http.get(url)
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("Entra ID: %s could not be fetched: %s", url, error)
            raise SignInFailed(UNREACHABLE, 502) from None
        if not isinstance(data, dict):
            log.warning("Entra ID: %s is not a JSON object", url)
            raise SignInFailed(UNREACHABLE, 502)
        return data

    async def metadata(self) -> dict:
        """The discovery document (cached)."""
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_TTL:
            data = await self._get_json(f"{self.authority}/.well-known/openid-configuration")
            missing = [k for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
                       if not isinstance(data.get(k), str) or not data[k]]
            if missing:
                log.warning("Entra ID: the discovery document lacks %s", ", ".join(missing))
                raise SignInFailed(UNREACHABLE, 502)
            self._metadata, self._metadata_at = data, time.monotonic()
            self._keys, self._keys_at = {}, 0.0
        return self._metadata

    async def _signing_key(self, kid: str) -> jwt.PyJWK:
        age = time.monotonic() - self._keys_at
        stale = age > DISCOVERY_TTL or (kid not in self._keys and age > KEY_REFETCH_AFTER)
        if not self._keys or stale:
            document = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                keys = jwt.PyJWKSet.from_dict(document).keys
            except jwt.PyJWTError as error:
                log.warning("Entra ID: the published keys are not usable: %s", error)
                raise SignInFailed(UNREACHABLE, 502) from None
            self._keys = {key.key_id: key for key in keys if key.key_id}
            self._keys_at = time.monotonic()
        if kid not in self._keys:
            log.warning("Entra ID: id_token signed with an unknown key %r", kid)
            raise SignInFailed(INVALID)
        return self._keys[kid]

    # -- the flow ---------------------------------------------------------------------------------

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client_id=self.client_id, client_secret=self.client_secret,
                                 scope=SCOPE, redirect_uri=self.redirect_uri,
                                 code_challenge_method="S256",
                                 token_endpoint_auth_method="client_secret_post",
                                 timeout=TIMEOUT_SECONDS)

    async def begin(self, next_path: str = "/") -> tuple[str, Attempt]:
        """Where to send the browser, and the attempt to keep until it comes back."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        attempt = Attempt.new(next_path)
        async with self._client() as client:
            url, _ = client.create_authorization_url(endpoint, state=attempt.state,
                                                     code_verifier=attempt.code_verifier,
                                                     nonce=attempt.nonce)
        return url, attempt

    async def finish(self, code: str, attempt: Attempt) -> Identity:
        """Exchange the code (with the attempt's PKCE verifier) and check the id_token."""
        endpoint = (await self.metadata())["token_endpoint"]
        async with self._client() as client:
            try:
                token = await client.fetch_token(endpoint, grant_type="authorization_code",
                                                 code=code, code_verifier=attempt.code_verifier)
            except OAuthError as error:
                log.warning("Entra ID refused the code: %s %s", error.error, error.description)
                raise SignInFailed(REFUSED) from None
            except HTTP_ERRORS as error:
                log.warning("Entra ID: the token endpoint failed: %s", error)
                raise SignInFailed(UNREACHABLE, 502) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            log.warning("Entra ID: the token response has no id_token")
            raise SignInFailed(INVALID)
        return await self.identity(id_token, nonce=attempt.nonce)

    async def identity(self, id_token: str, *, nonce: str) -> Identity:
        """Who the id_token names, once its signature, issuer, audience, expiry, tenant and nonce
        hold; SignInFailed if any does not."""
        metadata = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise self._invalid("not a JWT") from None
        if header.get("alg") != "RS256":
            raise self._invalid(f"algorithm {header.get('alg')!r}")
        key = await self._signing_key(str(header.get("kid") or ""))
        issuer = metadata["issuer"].replace("{tenantid}", self.tenant_id)
        try:
            claims = jwt.decode(id_token, key.key, algorithms=["RS256"], audience=self.client_id,
                                issuer=issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "iss", "aud", "tid", "oid",
                                                     "nonce"]})
        except jwt.PyJWTError as error:
            raise self._invalid(f"{type(error).__name__}: {error}") from None
        if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise self._invalid("nonce does not match")
        if str(claims["tid"]).lower() != self.tenant_id.lower():
            raise self._invalid("another tenant")
        email = str(claims.get("email") or claims.get("preferred_username") or "").strip().lower()
        if "@" not in email:
            raise self._invalid("no e-mail address")
        return Identity(object_id=str(claims["oid"]).lower(), tenant_id=str(claims["tid"]),
                        email=email, name=str(claims.get("name") or ""))

    @staticmethod
    def _invalid(reason: str) -> SignInFailed:
        log.warning("Entra ID: id_token refused: %s", reason)
        return SignInFailed(INVALID)


ENTRA_SIGN_IN = web.AppKey("entra_sign_in", EntraSignIn)
