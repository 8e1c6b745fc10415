"""The token endpoint and Entra ID's OpenID metadata."""

from __future__ import annotations

import asyncio

import jwt

from emulator_helpers import BOT_SCOPE, GRAPH_SCOPE


async def test_client_credentials_give_a_graph_token(m365):
    response = await m365.client.post(
        f"/{m365.config.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": m365.config.bot_app_id,
            "client_secret": m365.config.bot_app_secret,
            "scope": GRAPH_SCOPE,
        },
    )
    assert response.status == 200
    body = await response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["appid"] == m365.config.bot_app_id
    assert claims["tid"] == m365.config.tenant_id
    assert claims["iss"] == f"{m365.emulator.base_url}/{m365.config.tenant_id}/v2.0"


async def test_wrong_secret_is_refused_like_entra_and_the_secret_is_not_recorded(m365):
    response = await m365.client.post(
        f"/{m365.config.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": m365.config.bot_app_id,
            "client_secret": "not-the-secret",
            "scope": GRAPH_SCOPE,
        },
    )
    assert response.status == 401
    body = await response.json()
    assert body["error"] == "invalid_client"
    assert body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215")
    [record] = m365.emulator.log.select("token")
    assert record["status"] == 401
    assert record["body"]["client_secret"] == "***"
    assert "not-the-secret" not in str(record)


async def test_bot_scope_from_the_botframework_tenant(m365):
    token = await m365.token(BOT_SCOPE, tenant="botframework.com")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "https://api.botframework.com"
    assert claims["appid"] == m365.config.bot_app_id


async def test_refusals_for_tenant_grant_client_and_scope(m365):
    async def ask(tenant, **form):
        data = {
            "grant_type": "client_credentials",
            "client_id": m365.config.bot_app_id,
            "client_secret": m365.config.bot_app_secret,
            "scope": GRAPH_SCOPE,
            **form,
        }
        response = await m365.client.post(f"/{tenant}/oauth2/v2.0/token", data=data)
        return response.status, (await response.json())["error"]

    tenant = m365.config.tenant_id
    assert await ask("someone-else.example") == (400, "invalid_request")
    assert await ask(tenant, grant_type="password") == (400, "unsupported_grant_type")
    assert await ask(tenant, client_id="22222222-2222-2222-2222-222222222222") == (400, "unauthorized_client")
    assert await ask(tenant, client_secret="") == (401, "invalid_client")
    assert await ask(tenant, scope="https://graph.microsoft.com/Mail.Send") == (400, "invalid_scope")
    assert await ask(tenant, scope="https://example.org/.default") == (400, "invalid_resource")


async def test_basic_client_authentication_is_accepted(m365):
    import aiohttp

    response = await m365.client.post(
        f"/{m365.config.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
        auth=aiohttp.BasicAuth(m365.config.bot_app_id, m365.config.bot_app_secret),
    )
    assert response.status == 200


async def test_entra_openid_keys_verify_the_access_token(m365):
    token = await m365.token(GRAPH_SCOPE)
    response = await m365.client.get(f"/{m365.config.tenant_id}/v2.0/.well-known/openid-configuration")
    metadata = await response.json()
    assert metadata["token_endpoint"].endswith(f"/{m365.config.tenant_id}/oauth2/v2.0/token")

    def verify():
        key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
        return jwt.decode(
            token, key.key, algorithms=["RS256"], audience="https://graph.microsoft.com", issuer=metadata["issuer"]
        )

    claims = await asyncio.to_thread(verify)
    assert claims["appid"] == m365.config.bot_app_id
