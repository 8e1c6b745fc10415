"""OpenID metadata and signing keys: Entra ID's (per tenant) and the Bot Framework's.

The Bot Framework's key set is shared by its channels; each key carries `endorsements`, the channel
ids it may sign activities for ("Authentication with the Bot Connector API", Step 3: Get the list of
valid signing keys, https://learn.microsoft.com/en-us/azure/bot-service/rest-api/
bot-framework-rest-connector-authentication#connector-to-bot-step-3). As there, the emulator
publishes Teams' key (endorsed for `msteams`) beside a key endorsed only for other channels
(`webchat`, `directline`): a token signed with that one verifies, but must not pass for Teams.
"""

from __future__ import annotations

from aiohttp import web

from .http_common import emulator_of
from .tokens import BOT_ISSUER, TEAMS_ENDORSEMENTS, WEBCHAT_ENDORSEMENTS

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
    """The Bot Framework's key set: each key with the channels it is endorsed for."""
    emulator = emulator_of(request)
    return web.json_response({"keys": [
        emulator.bot_key.public_jwk(endorsements=list(TEAMS_ENDORSEMENTS)),
        emulator.webchat_key.public_jwk(endorsements=list(WEBCHAT_ENDORSEMENTS)),
    ]})


@routes.get("/{tenant}/v2.0/.well-known/openid-configuration")
async def entra_openid_configuration(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    tenant = request.match_info["tenant"]
    tenant_id = emulator.tenant_id_for(tenant)
    if tenant_id is None:
        return _tenant_not_found(tenant)
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
    tenant = request.match_info["tenant"]
    tenant_id = emulator.tenant_id_for(tenant)
    if tenant_id is None:
        return _tenant_not_found(tenant)
    return web.json_response({"keys": [emulator.aad_key.public_jwk(issuer=emulator.issuer_for(tenant_id))]})


def _tenant_not_found(tenant: str) -> web.Response:
    """Entra ID's answer for a tenant it does not know, on every tenant-scoped document
    (AADSTS90002 InvalidTenantName, in the identity platform's error code reference)."""
    return web.json_response(
        {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}, status=400
    )
