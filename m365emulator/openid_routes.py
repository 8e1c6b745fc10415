"""OpenID metadata and signing keys: Entra ID's (per tenant) and the Bot Framework's."""

from __future__ import annotations

from aiohttp import web

from .http_common import emulator_of
from .tokens import BOT_ISSUER

routes = web.RouteTableDef()

BOT_OPENID_PATH = "/botframework/v1/.well-known/openidconfiguration"
BOT_KEYS_PATH = "/botframework/v1/.well-known/keys"


@routes.get(BOT_OPENID_PATH)
async def bot_openid_configuration(request: web.Request) -> web.Response:
    """As `login.botframework.com/v1/.well-known/openidconfiguration`, pointing at our keys."""
    base = emulator_of(request).base_url
    return web.json_response(
        {
            "issuer": BOT_ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{base}{BOT_KEYS_PATH}",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }
    )


@routes.get(BOT_KEYS_PATH)
async def bot_keys(request: web.Request) -> web.Response:
    """The key that signs activities sent to the bot, endorsed for the `msteams` channel."""
    key = emulator_of(request).bot_key
    return web.json_response({"keys": [key.public_jwk(endorsements=["msteams"])]})


@routes.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def entra_openid_configuration(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    tenant = request.match_info["tenant"]
    tenant_id = emulator.tenant_id_for(tenant)
    if tenant_id is None:
        return web.json_response(
            {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}, status=400
        )
    base = emulator.base_url
    return web.json_response(
        {
            "issuer": emulator.issuer_for(tenant_id),
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        }
    )


@routes.get("/{tenant}/discovery/v2.0/keys")
async def entra_keys(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    tenant_id = emulator.tenant_id_for(request.match_info["tenant"]) or emulator.config.tenant_id
    return web.json_response({"keys": [emulator.aad_key.public_jwk(issuer=emulator.issuer_for(tenant_id))]})
