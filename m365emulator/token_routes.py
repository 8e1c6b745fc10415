"""Entra ID's token endpoint: `POST /{tenant}/oauth2/v2.0/token`, for the client credentials grant and
the authorization code grant of a user's sign-in (`sign_in_routes.py`).

Rules from "Microsoft identity platform and the OAuth 2.0 client credentials flow"
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow, "Get a
token"): `client_id`, `scope`, `client_secret` (or HTTP Basic) and `grant_type` are required; the scope
is the resource's application ID URI with `/.default`, all for a single resource. Error codes from
https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from aiohttp import web

from .http_common import emulator_of, note, token_error
from .sign_in_routes import redeem_authorization_code
from .tokens import ACCESS_TOKEN_LIFETIME, KNOWN_RESOURCES, resource_from_scope

routes = web.RouteTableDef()


def _basic_credentials(request: web.Request) -> tuple[str | None, str | None]:
    """client_secret_basic: `Authorization: Basic base64(id:secret)`."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


@routes.get("/{tenant}/oauth2/v2.0/token", name="token:token_by_get")
async def token_by_get(request: web.Request) -> web.Response:
    """The token endpoint takes POST only (AADSTS900561)."""
    return token_error(request, 400, "invalid_request", 900561,
                       "The endpoint only accepts POST, OPTIONS requests. Received a GET request.")


@routes.post("/{tenant}/oauth2/v2.0/token", name="token:token")
async def token(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    tenant = request.match_info["tenant"]
    form = await request.post()
    basic_id, basic_secret = _basic_credentials(request)
    client_id = str(form.get("client_id") or basic_id or "")
    client_secret = str(form.get("client_secret") or basic_secret or "")
    scope = str(form.get("scope") or "")
    grant_type = str(form.get("grant_type") or "")
    note(request, tenant=tenant, client_id=client_id or None, scope=scope or None)

    tenant_id = emulator.tenant_id_for(tenant)
    if tenant_id is None:
        return token_error(
            request,
            400,
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud.",
        )
    if not grant_type:
        return token_error(
            request, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."
        )
    if grant_type not in ("client_credentials", "authorization_code"):
        return token_error(
            request, 400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
        )
    if not client_id:
        return token_error(
            request, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."
        )
    secrets = emulator.config.client_secrets()
    if client_id not in secrets:
        return token_error(
            request,
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
        )
    if not client_secret:
        return token_error(
            request,
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if client_secret != secrets[client_id]:
        return token_error(
            request,
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{client_id}'.",
        )
    if grant_type == "authorization_code":
        return redeem_authorization_code(request, tenant_id, client_id, form)
    if not scope:
        return token_error(
            request, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."
        )
    items = scope.split()
    not_default = [item for item in items if not item.endswith("/.default")]
    if not_default:
        return token_error(
            request,
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {not_default[0]} is not valid. Client credential flows must have a scope "
            "value with /.default suffixed to the resource identifier (application ID URI).",
        )
    if len({resource_from_scope(item) for item in items}) > 1:
        return token_error(
            request,
            400,
            "invalid_scope",
            700022,
            f"The provided value for the input parameter scope is not valid because it contains more than one "
            f"resource. Scope {scope} is not valid.",
        )
    resource = resource_from_scope(scope)
    if resource not in KNOWN_RESOURCES:
        return token_error(
            request,
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named {tenant}.",
        )
    note(request, audience=resource)
    access_token = emulator.issue_access_token(client_id, scope, tenant_id=tenant_id)
    return web.json_response(
        {
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "ext_expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": access_token,
        }
    )
