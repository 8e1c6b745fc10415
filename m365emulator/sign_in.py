"""Signing a user in (OpenID Connect, authorization code flow with PKCE): codes and the user's tokens.

A code is issued by the authorize endpoint for one client, redirect URI, user and PKCE challenge; the
token endpoint redeems it once, before it expires, for an id_token (and a delegated access token).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from .keys import SigningKey
from .limits import Clock

CODE_LIFETIME = 600  # seconds; Entra ID's codes live about ten minutes
ID_TOKEN_LIFETIME = 3600
USER_ACCESS_TOKEN_LIFETIME = 3599
GRAPH_RESOURCE = "https://graph.microsoft.com"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")


def s256_challenge(verifier: str) -> str:
    """PKCE S256: BASE64URL(SHA256(ASCII(code_verifier))), without padding (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_challenge(verifier: str, method: str) -> str:
    """The challenge a verifier answers: S256's hash, or the verifier itself for `plain`."""
    return s256_challenge(verifier) if method == "S256" else verifier


def challenge_size_ok(challenge: str, method: str) -> bool:
    """S256 challenges are 43 characters (a SHA-256 in base64url); plain ones 43 to 128 (RFC 7636 4.1)."""
    return len(challenge) == 43 if method == "S256" else 43 <= len(challenge) <= 128


def user_object_id(tenant_id: str, user: dict) -> str:
    """The user's Entra object id: the Teams user id the directory gives, else a stable made-up one."""
    known = user.get("teams_user_id")
    if known:
        return str(known)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"user:{tenant_id}:{str(user.get('email', '')).lower()}"))


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    tenant_id: str
    user: dict
    issued_at: float
    redeemed: bool = False


class AuthorizationCodes:
    """Codes handed out by the authorize endpoint, by value; each may be redeemed once."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._codes: dict[str, AuthorizationCode] = {}

    def issue(self, **fields) -> str:
        self._drop_stale()
        code = "1.AQ" + secrets.token_urlsafe(48)
        self._codes[code] = AuthorizationCode(issued_at=self.clock(), **fields)
        return code

    def get(self, code: str) -> AuthorizationCode | None:
        return self._codes.get(code)

    def expired(self, entry: AuthorizationCode) -> bool:
        return self.clock() - entry.issued_at > CODE_LIFETIME

    def _drop_stale(self) -> None:
        # Kept a while after expiry so a late redemption is told "expired", not "unknown".
        for code in [c for c, e in self._codes.items() if self.clock() - e.issued_at > 4 * CODE_LIFETIME]:
            del self._codes[code]

    def clear(self) -> None:
        self._codes.clear()


def _times(expires_in: int) -> tuple[int, int]:
    now = int(time.time())
    return min(now, now + expires_in - 300), now + expires_in


def id_token_claims(*, issuer: str, tenant_id: str, client_id: str, user: dict, nonce: str | None,
                    expires_in: int = ID_TOKEN_LIFETIME) -> dict:
    """The claims of a v2.0 id_token as Entra ID issues it."""
    issued, expires = _times(expires_in)
    object_id = user_object_id(tenant_id, user)
    claims = {
        "aud": client_id,
        "iss": issuer,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "name": str(user.get("name") or ""),
        "oid": object_id,
        "preferred_username": str(user.get("email") or ""),
        "rh": "0.AQ" + uuid.uuid4().hex,
        "sub": base64.urlsafe_b64encode(
            hashlib.sha256(f"{client_id}:{object_id}".encode()).digest()
        ).rstrip(b"=").decode("ascii"),
        "tid": tenant_id,
        "uti": uuid.uuid4().hex[:22],
        "ver": "2.0",
    }
    if user.get("email"):
        claims["email"] = str(user["email"])
    if nonce:
        claims["nonce"] = nonce
    return claims


def sign(claims: dict, key: SigningKey) -> str:
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})


def user_access_token(key: SigningKey, *, issuer: str, tenant_id: str, client_id: str, user: dict,
                      scope: str) -> str:
    """A delegated (user) access token for Graph, with the scopes asked for besides the OpenID ones."""
    issued, expires = _times(USER_ACCESS_TOKEN_LIFETIME)
    graph_scopes = [s for s in scope.split() if s.lower() not in OIDC_SCOPES] or ["User.Read"]
    claims = {
        "aud": GRAPH_RESOURCE,
        "iss": issuer,
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "appid": client_id,
        "azp": client_id,
        "idtyp": "user",
        "name": str(user.get("name") or ""),
        "oid": user_object_id(tenant_id, user),
        "scp": " ".join(s.rsplit("/", 1)[-1] for s in graph_scopes),
        "tid": tenant_id,
        "upn": str(user.get("email") or ""),
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
    }
    return sign(claims, key)
