"""The Microsoft identity platform as the service uses it, checked against the emulator over HTTP.

Two uses: app-only tokens for Graph and the Bot Connector (OAuth 2.0 client credentials, the
service's `notifications.tokens.ClientCredentialsTokens`), and people signing in with Microsoft
(OpenID Connect, the authorization code flow with PKCE, the service's `bot.entra_sign_in.EntraSignIn`).

Documentation checked against:
- https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
  ("Get a token": "First case: Access token request with a shared secret", "Successful response",
  "Error response")
- https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
  ("Request an authorization code", "Successful response", "Error response", "Redeem a code for an
  access token", "Error codes for token endpoint errors")
- https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc
  ("Fetch the OpenID configuration document", "Send the sign-in request")
- https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
  ("Handling error codes in your application", "AADSTS error codes")
- https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication
  ("Step 1: Request an access token from the Microsoft Entra ID account login service")
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt
import pytest

from bot.entra_sign_in import EntraSignIn
from notifications.tokens import BOT_SCOPE, GRAPH_SCOPE, ClientCredentialsTokens, TokenError

from .auth_support import PEOPLE, entra, make_entra, oauth_error  # noqa: F401

REDIRECT = "https://beredskab.example/log-ind/microsoft/svar"
GRAPH = "https://graph.microsoft.com"
BOT_CONNECTOR = "https://api.botframework.com"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# Client credentials ---------------------------------------------------------------------------

async def test_the_services_token_client_gets_tokens_for_graph_and_the_bot_connector(entra):
    """Client credentials, "First case: Access token request with a shared secret": `scope` is
    "the resource identifier (application ID URI) of the resource you want, affixed with the
    `.default` suffix" (Graph: https://graph.microsoft.com/.default; the Bot Connector, "Step 1":
    https://api.botframework.com/.default). The token is for that resource."""
    async with aiohttp.ClientSession() as http:
        tokens = ClientCredentialsTokens(http, token_url=entra.token_url, client_id=entra.app_id,
                                         client_secret=entra.secret)
        for scope, audience in ((GRAPH_SCOPE, GRAPH), (BOT_SCOPE, BOT_CONNECTOR)):
            claims = jwt.decode(await tokens.token(scope), options={"verify_signature": False})
            assert claims["aud"] == audience and claims["appid"] == entra.app_id
            assert claims["tid"] == entra.tenant


async def test_a_successful_response_has_token_type_expires_in_and_access_token(entra):
    """Client credentials, "Successful response": `token_type` (Bearer), `expires_in` (seconds),
    `access_token`."""
    response = await entra.token()
    assert response.status == 200 and response.content_type == "application/json"
    body = await response.json()
    assert body["token_type"].lower() == "bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    assert body["access_token"].count(".") == 2


@pytest.mark.parametrize("missing, status, error, aadsts", [
    ("client_id", 400, "invalid_request", 900144),
    ("scope", 400, "invalid_request", 900144),
    ("grant_type", 400, "invalid_request", 900144),
    ("client_secret", 401, "invalid_client", 7000218),
])
async def test_each_required_parameter_is_required(entra, missing, status, error, aadsts):
    """Client credentials, "First case": `client_id`, `scope`, `client_secret` and `grant_type` are
    Required. AADSTS900144 "The request body must contain the following parameter: '{name}'";
    AADSTS7000218 "... 'client_assertion' or 'client_secret'" (error codes reference); a client
    that does not authenticate is `invalid_client` (auth code flow, "Error codes for token endpoint
    errors": "Client authentication failed")."""
    body = await oauth_error(await entra.token(**{missing: None}), status, error, aadsts)
    if aadsts == 900144:
        assert f"parameter: '{missing}'" in body["error_description"]


async def test_a_wrong_secret_is_invalid_client_and_the_service_says_why(entra):
    """Error codes reference: AADSTS7000215 "Invalid client secret is provided"; `invalid_client`
    "Client authentication failed". The service's token client reports the description."""
    await oauth_error(await entra.token(client_secret="forkert"), 401, "invalid_client", 7000215)
    async with aiohttp.ClientSession() as http:
        tokens = ClientCredentialsTokens(http, token_url=entra.token_url, client_id=entra.app_id,
                                         client_secret="forkert")
        with pytest.raises(TokenError, match="AADSTS7000215") as refused:
            await tokens.token(GRAPH_SCOPE)
    assert "\n" not in str(refused.value) and "Trace ID:" in str(refused.value)  # one log line


async def test_an_unknown_application_is_unauthorized_client(entra):
    """Error codes reference: AADSTS700016 "UnauthorizedClient_DoesNotMatchRequest - The
    application wasn't found in the directory/tenant"."""
    await oauth_error(await entra.token(client_id="99999999-9999-9999-9999-999999999999"), 400,
                      "unauthorized_client", 700016)


async def test_an_unknown_tenant_is_refused(entra):
    """Error codes reference: AADSTS90002 "InvalidTenantName - The tenant name wasn't found"."""
    response = await entra.client.post("/nowhere.example/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": entra.app_id, "client_secret": entra.secret,
        "scope": GRAPH_SCOPE})
    await oauth_error(response, 400, "invalid_request", 90002)


async def test_grant_type_must_be_client_credentials(entra):
    """Client credentials: `grant_type` "Must be set to `client_credentials`"; another is
    `unsupported_grant_type` (AADSTS70003 "UnsupportedGrantType")."""
    await oauth_error(await entra.token(grant_type="password"), 400, "unsupported_grant_type", 70003)


async def test_a_scope_without_default_is_refused(entra):
    """Client credentials: the scope is the application ID URI "affixed with the `.default`
    suffix"; a named permission is refused as `invalid_scope` (AADSTS1002012: "Client credential
    flows must have a scope value with /.default suffixed to the resource identifier"), also when
    it rides along with a .default scope."""
    for scope in ("https://graph.microsoft.com/Mail.Send", f"{GRAPH_SCOPE} https://graph.microsoft.com/Mail.Send"):
        await oauth_error(await entra.token(scope=scope), 400, "invalid_scope", 1002012)


async def test_scopes_for_more_than_one_resource_are_refused(entra):
    """Client credentials: "All scopes included must be for a single resource. Including scopes for
    multiple resources will result in an error." (AADSTS700022 "InvalidMultipleResourcesScope")."""
    body = await oauth_error(await entra.token(scope=f"{GRAPH_SCOPE} {BOT_SCOPE}"), 400, "invalid_scope", 700022)
    assert "more than one resource" in body["error_description"]


async def test_an_unknown_resource_is_invalid_resource(entra):
    """Error codes reference: AADSTS500011 "InvalidResourceServicePrincipalNotFound - The resource
    principal named {name} wasn't found in the tenant"; `invalid_resource` "The target resource is
    invalid because it doesn't exist"."""
    await oauth_error(await entra.token(scope="https://example.org/.default"), 400, "invalid_resource", 500011)


async def test_the_secret_may_come_by_http_basic(entra):
    """Client credentials, `client_secret`: "The Basic auth pattern of instead providing
    credentials in the Authorization header, per RFC 6749 is also supported"."""
    basic = base64.b64encode(f"{entra.app_id}:{entra.secret}".encode()).decode()
    response = await entra.client.post(entra.token_path, headers={"Authorization": f"Basic {basic}"},
                                       data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE,
                                             "client_id": entra.app_id})
    assert response.status == 200, await response.text()


async def test_the_token_endpoint_takes_post_only(entra):
    """Client credentials: "send a POST request to the `/token` Microsoft identity platform";
    AADSTS900561 "The endpoint only accepts {valid_verbs} requests. Received a {invalid_verb}
    request." (error codes reference)."""
    body = await oauth_error(await entra.client.get(entra.token_path), 400, "invalid_request", 900561)
    assert "Received a GET request" in body["error_description"]


async def test_the_parameters_come_form_encoded(entra):
    """Client credentials, "First case": the request is `Content-Type:
    application/x-www-form-urlencoded`; parameters sent as JSON are not read, so the first
    required one is missing (AADSTS900144)."""
    response = await entra.client.post(entra.token_path, json={
        "grant_type": "client_credentials", "client_id": entra.app_id, "client_secret": entra.secret,
        "scope": GRAPH_SCOPE})
    body = await oauth_error(response, 400, "invalid_request", 900144)
    assert "parameter: 'grant_type'" in body["error_description"]


async def test_the_error_response_has_the_documented_fields(entra):
    """Client credentials, "Error response": "An error response (400 Bad Request)" with `error`,
    `error_description` (the AADSTS code, then "\\r\\nTrace ID: ...\\r\\nCorrelation ID:
    ...\\r\\nTimestamp: ..."), `error_codes`, `timestamp`, `trace_id`, `correlation_id`; the error
    codes reference adds `error_uri`."""
    body = await oauth_error(await entra.token(scope="https://example.org/.default"), 400, "invalid_resource", 500011)
    assert {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id",
            "error_uri"} <= set(body)


# Sign-in: OpenID Connect with the authorization code flow and PKCE ----------------------------

class SignIn:
    """One authorization request and its redemption, by hand."""

    def __init__(self, entra, **params) -> None:
        self.entra = entra
        self.verifier = secrets.token_urlsafe(48)
        self.params = {"client_id": entra.app_id, "response_type": "code", "redirect_uri": REDIRECT,
                       "scope": "openid profile email", "state": secrets.token_urlsafe(16),
                       "nonce": secrets.token_urlsafe(16), "code_challenge": s256(self.verifier),
                       "code_challenge_method": "S256", "login_hint": PEOPLE[0]["email"], **params}

    async def authorize(self, tenant: str | None = None) -> dict:
        """The query the browser is sent back with (302 to the redirect URI)."""
        query = {k: v for k, v in self.params.items() if v is not None}
        response = await self.entra.client.get(f"/{tenant or self.entra.tenant}/oauth2/v2.0/authorize",
                                               params=query, allow_redirects=False)
        assert response.status == 302, await response.text()
        location = response.headers["Location"]
        assert location.startswith(REDIRECT + "?"), location
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    async def redeem(self, code: str, tenant: str | None = None, **form):
        data = {"grant_type": "authorization_code", "client_id": self.entra.app_id,
                "client_secret": self.entra.secret, "code": code, "redirect_uri": REDIRECT,
                "code_verifier": self.verifier, **form}
        return await self.entra.client.post(f"/{tenant or self.entra.tenant}/oauth2/v2.0/token",
                                            data={k: v for k, v in data.items() if v is not None})


async def test_the_openid_configuration_document(entra):
    """OIDC, "Fetch the OpenID configuration document": at `<authority>/.well-known/
    openid-configuration` with `authorization_endpoint`, `token_endpoint`,
    `token_endpoint_auth_methods_supported` (client_secret_post, private_key_jwt), `jwks_uri`,
    `subject_types_supported` (pairwise); the authority is `https://login.microsoftonline.com/
    {tenant}/v2.0`."""
    response = await entra.client.get(f"/{entra.tenant}/v2.0/.well-known/openid-configuration")
    assert response.status == 200
    document = await response.json()
    assert document["authorization_endpoint"] == f"{entra.base_url}/{entra.tenant}/oauth2/v2.0/authorize"
    assert document["token_endpoint"] == entra.token_url
    assert {"client_secret_post", "private_key_jwt"} <= set(document["token_endpoint_auth_methods_supported"])
    assert document["jwks_uri"] == f"{entra.base_url}/{entra.tenant}/discovery/v2.0/keys"
    assert document["subject_types_supported"] == ["pairwise"]
    assert document["issuer"] == entra.authority and "code" in document["response_types_supported"]
    keys = await (await entra.client.get(f"/{entra.tenant}/discovery/v2.0/keys")).json()
    assert all(jwt.PyJWK(key).key_id for key in keys["keys"])


async def test_the_services_sign_in_round_trip(entra):
    """Auth code flow, "Request an authorization code" (client_id, response_type=code,
    redirect_uri, scope, state, code_challenge with code_challenge_method S256) and "Redeem a code
    for an access token"; OIDC, "Send the sign-in request" (scope with `openid`, a `nonce`). The
    service's own client signs Anna in against the emulator."""
    sign_in = EntraSignIn(authority=entra.authority, tenant_id=entra.tenant, client_id=entra.app_id,
                          client_secret=entra.secret, redirect_uri=REDIRECT)
    url, attempt = await sign_in.begin("/")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{entra.base_url}/{entra.tenant}/oauth2/v2.0/authorize?")
    assert query["response_type"] == "code" and "openid" in query["scope"].split()
    assert query["state"] == attempt.state and query["nonce"] == attempt.nonce
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] == s256(attempt.code_verifier)
    async with aiohttp.ClientSession() as http:
        async with http.get(url, params={"login_hint": PEOPLE[0]["email"]}, allow_redirects=False) as response:
            assert response.status == 302
            back = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    assert back["state"] == attempt.state
    identity = await sign_in.finish(back["code"], attempt)
    assert identity.email == PEOPLE[0]["email"] and identity.tenant_id == entra.tenant


async def test_the_redirect_uri_must_exactly_match_a_registered_one(make_entra):
    """Auth code flow, "Request an authorization code", `redirect_uri`: "It must exactly match one
    of the redirect URIs you registered"; AADSTS50011 "InvalidReplyTo - The reply address is
    missing, misconfigured, or doesn't match reply addresses configured for the app". Entra ID
    cannot send the browser to an address it does not trust, so it shows the error itself."""
    entra = await make_entra(redirect_uris=[REDIRECT])
    assert (await SignIn(entra).authorize())["code"]
    for other in (REDIRECT + "/mere", REDIRECT.replace("https://", "http://"), "https://evil.example/svar"):
        query = {k: v for k, v in SignIn(entra, redirect_uri=other).params.items() if v is not None}
        response = await entra.client.get(f"/{entra.tenant}/oauth2/v2.0/authorize", params=query,
                                          allow_redirects=False)
        assert response.status == 400 and "Location" not in response.headers, other
        assert "AADSTS50011" in await response.text()


async def test_the_code_comes_back_with_the_same_state(entra):
    """Auth code flow, "Successful response": `code`, and "If a `state` parameter is included in
    the request, the same value should appear in the response"."""
    sign_in = SignIn(entra)
    answer = await sign_in.authorize()
    assert answer["state"] == sign_in.params["state"] and answer["code"]
    assert "error" not in answer


@pytest.mark.parametrize("changes, error, aadsts", [
    ({"response_type": None}, "invalid_request", 900144),
    ({"code_challenge": None}, "invalid_request", 900144),
    ({"code_challenge": "kort"}, "invalid_request", 501491),
    ({"scope": "https://graph.microsoft.com/User.Read"}, "invalid_scope", 70011),
])
async def test_a_bad_request_goes_back_to_the_redirect_uri_with_error_and_state(entra, changes, error, aadsts):
    """Auth code flow, "Error response": "Error responses may also be sent to the `redirect_uri`"
    with `error` (`invalid_request`: "Protocol error, such as a missing required parameter") and
    `error_description`; `state` comes back. `response_type` is required; for OpenID Connect the
    scope "must include the scope `openid`" (OIDC, "Send the sign-in request"); AADSTS501491
    "Invalid size of Code_Challenge parameter" (error codes reference)."""
    sign_in = SignIn(entra, **changes)
    answer = await sign_in.authorize()
    assert "code" not in answer
    assert answer["error"] == error and answer["error_description"].startswith(f"AADSTS{aadsts}:")
    assert answer["state"] == sign_in.params["state"]


async def test_the_nonce_comes_back_in_the_id_token(entra):
    """OIDC, "Send the sign-in request", `nonce`: "The same `nonce` value is included in the ID
    token returned to your app"; auth code flow, "Successful response" of the token endpoint:
    `id_token` "Only provided if `openid` scope was requested", `refresh_token` "Only provided if
    `offline_access` scope was requested"."""
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    response = await sign_in.redeem(code)
    assert response.status == 200
    body = await response.json()
    assert body["token_type"].lower() == "bearer" and body["access_token"] and body["expires_in"] > 0
    assert "refresh_token" not in body
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == sign_in.params["nonce"] and claims["aud"] == entra.app_id
    assert claims["iss"] == entra.authority and claims["tid"] == entra.tenant


async def test_a_code_is_redeemed_once(entra):
    """Error codes reference: AADSTS54005 "OAuth2 Authorization code was already redeemed"."""
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    assert (await sign_in.redeem(code)).status == 200
    await oauth_error(await sign_in.redeem(code), 400, "invalid_grant", 54005)


async def test_a_code_expires_after_about_ten_minutes(entra):
    """Auth code flow, "Successful response": "Authorization codes are short lived. Typically,
    they expire after about 10 minutes."; `invalid_grant`: "The authorization code or PKCE code
    verifier is invalid or has expired"."""
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    entra.clock.advance(11 * 60)
    await oauth_error(await sign_in.redeem(code), 400, "invalid_grant", 70008)


async def test_the_code_is_redeemed_with_the_same_redirect_uri(entra):
    """Auth code flow, "Redeem a code": `redirect_uri` required, "The same `redirect_uri` value
    that was used to acquire the `authorization_code`"; AADSTS50011 "InvalidReplyTo"."""
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    await oauth_error(await sign_in.redeem(code, redirect_uri=None), 400, "invalid_request", 900144)
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    await oauth_error(await sign_in.redeem(code, redirect_uri="https://evil.example/svar"), 400, "invalid_grant", 50011)


async def test_the_code_verifier_is_required_and_must_match(entra):
    """Auth code flow, "Redeem a code": `code_verifier` "Required if PKCE was used in the
    authorization code grant request"; AADSTS501481 "The Code_Verifier doesn't match the
    code_challenge supplied in the authorization request"."""
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    await oauth_error(await sign_in.redeem(code, code_verifier=None), 400, "invalid_request", 900144)
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    await oauth_error(await sign_in.redeem(code, code_verifier=secrets.token_urlsafe(48)), 400, "invalid_grant",
                      501481)


@pytest.mark.parametrize("method", ["plain", None])
async def test_pkce_plain_is_supported_and_is_the_default_method(entra, method):
    """Auth code flow, `code_challenge_method`: "If excluded, `code_challenge` is assumed to be
    plaintext if `code_challenge` is included. The Microsoft identity platform supports both
    `plain` and `S256`."."""
    sign_in = SignIn(entra, code_challenge_method=method)
    sign_in.params["code_challenge"] = sign_in.verifier
    code = (await sign_in.authorize())["code"]
    assert (await sign_in.redeem(code)).status == 200
    sign_in = SignIn(entra, code_challenge_method=method)  # the S256 value is not the plain verifier
    code = (await sign_in.authorize())["code"]
    await oauth_error(await sign_in.redeem(code), 400, "invalid_grant", 501481)


async def test_a_code_is_redeemed_at_the_tenant_it_was_issued_for(entra):
    """Error codes reference: AADSTS700005 "InvalidGrantRedeemAgainstWrongTenant - Provided
    Authorization Code is intended to use against other tenant, thus rejected"."""
    sign_in = SignIn(entra)
    code = (await sign_in.authorize())["code"]
    await oauth_error(await sign_in.redeem(code, tenant="botframework.com"), 400, "invalid_grant", 700005)


async def test_the_id_token_is_signed_by_a_key_in_the_jwks_uri_document(entra):
    """Access tokens, "Validate tokens" / "Validate the signature"
    (https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens): the token's header
    names its signing key in `kid` (RS256), and the public keys are in the document at the
    `jwks_uri` of the OpenID configuration (`<authority>/discovery/v2.0/keys`), each an RSA key for
    signing (`kty` RSA, `use` sig, `kid`, `n`, `e`, and the certificate in `x5c`). The ID token
    verifies with the key of that `kid`, and with no other."""
    document = await (await entra.client.get(f"/{entra.tenant}/v2.0/.well-known/openid-configuration")).json()
    keys_path = document["jwks_uri"].removeprefix(entra.base_url)
    response = await entra.client.get(keys_path)
    assert response.status == 200 and response.content_type == "application/json"
    keys = (await response.json())["keys"]
    assert keys and all(k["kty"] == "RSA" and k["use"] == "sig" and {"kid", "n", "e", "x5c"} <= set(k) for k in keys)
    sign_in = SignIn(entra)
    body = await (await sign_in.redeem((await sign_in.authorize())["code"])).json()
    header = jwt.get_unverified_header(body["id_token"])
    assert header["alg"] == "RS256"
    (key,) = [k for k in keys if k["kid"] == header["kid"]]
    claims = jwt.decode(body["id_token"], jwt.PyJWK(key).key, algorithms=["RS256"], audience=entra.app_id)
    assert claims["nonce"] == sign_in.params["nonce"]
    tampered = body["id_token"][:-4] + ("AAAA" if not body["id_token"].endswith("AAAA") else "BBBB")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tampered, jwt.PyJWK(key).key, algorithms=["RS256"], audience=entra.app_id)


@pytest.mark.parametrize("document", ["v2.0/.well-known/openid-configuration", "discovery/v2.0/keys"])
async def test_an_unknown_tenant_has_no_discovery_document_nor_keys(entra, document):
    """Error codes reference (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes,
    "AADSTS error codes"): AADSTS90002 InvalidTenantName, "The tenant name wasn't found in the data
    store". Neither the OpenID configuration nor the signing keys of a tenant that does not exist
    are served (400 `invalid_tenant`), so a wrong tenant id fails at once, not at token validation."""
    response = await entra.client.get(f"/3f8a7c3e-0000-4000-8000-00000000dead/{document}")
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid_tenant" and body["error_description"].startswith("AADSTS90002:")
