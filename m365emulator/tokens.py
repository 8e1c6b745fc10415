"""Tokens: Entra ID access tokens (client credentials) and Bot Framework activity tokens."""

from __future__ import annotations

import time
import uuid

import jwt

from .keys import SigningKey

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
BOT_RESOURCE = "https://api.botframework.com"
BOT_ISSUER = "https://api.botframework.com"
# The tenant the Bot Framework's own tokens come from (`login.microsoftonline.com/botframework.com`).
BOTFRAMEWORK_TENANT = "botframework.com"
BOTFRAMEWORK_TENANT_ID = "d6d49420-f39b-4df7-a1dc-d59a935871db"
KNOWN_RESOURCES = (GRAPH_RESOURCE, BOT_RESOURCE)
# The channels each published Bot Framework key is endorsed for (openid_routes.py).
TEAMS_ENDORSEMENTS = ("msteams",)
WEBCHAT_ENDORSEMENTS = ("webchat", "directline")
ACCESS_TOKEN_LIFETIME = 3599


class TokenRejected(Exception):
    """A bearer token that does not pass; the message says why (as Graph would)."""


def _lifetime(expires_in: int) -> tuple[int, int]:
    """(issued, expires) epoch seconds; a negative lifetime gives a token that expired long ago."""
    now = int(time.time())
    expires = now + expires_in
    return min(now, expires - 300), expires


def resource_from_scope(scope: str) -> str | None:
    """`https://graph.microsoft.com/.default` -> `https://graph.microsoft.com` (None if not a .default scope)."""
    for item in scope.split():
        if item.endswith("/.default"):
            return item[: -len("/.default")]
    return None


def issue_access_token(
    key: SigningKey,
    *,
    issuer: str,
    tenant_id: str,
    client_id: str,
    audience: str,
    expires_in: int = ACCESS_TOKEN_LIFETIME,
    roles: list[str] | None = None,
) -> str:
    """An app-only (client credentials) access token as Entra ID issues it (`roles`: the
    application permissions granted, omitted when there are none)."""
    issued, expires = _lifetime(expires_in)
    claims = {
        "aud": audience,
        "iss": issuer,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "appid": client_id,
        "azp": client_id,
        "appidacr": "1",
        "azpacr": "1",
        "idtyp": "app",
        "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{tenant_id}:{client_id}")),
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{tenant_id}:{client_id}")),
        "tid": tenant_id,
        "uti": uuid.uuid4().hex,
        "ver": "2.0",
    }
    if roles:
        claims["roles"] = list(roles)
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise TokenRejected("Access token is empty.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("Access token is empty.")
    return token.strip()


def verify_access_token(token: str, key: SigningKey, *, issuer: str | list[str], audiences: list[str]) -> dict:
    """Check signature (our key only), issuer, audience, expiry; return the claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected("IDX14100: JWT is not well formed.") from None
    if header.get("alg") != "RS256":
        raise TokenRejected("Access token validation failure. Invalid signing algorithm.")
    try:
        return jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=["RS256"],
            audience=audiences,
            issuer=issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("Lifetime validation failed, the token is expired.") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("Access token validation failure. Invalid audience.") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("Access token validation failure. Invalid issuer.") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("Access token validation failure. Invalid signature.") from None
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"Access token validation failure. {exc}") from None


def app_id_of(claims: dict) -> str | None:
    return claims.get("appid") or claims.get("azp")


def sign_activity_token(
    key: SigningKey,
    *,
    audience: str,
    service_url: str,
    expires_in: int = 3600,
    issuer: str = BOT_ISSUER,
) -> str:
    """The token the Bot Framework sends with each activity to a bot's endpoint."""
    issued, expires = _lifetime(expires_in)
    claims = {
        "serviceurl": service_url,
        "nbf": issued,
        "iat": issued,
        "exp": expires,
        "iss": issuer,
        "aud": audience,
    }
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})
