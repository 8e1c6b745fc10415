"""Signing a user in: the authorize endpoint (account picker, login_hint) and the authorization code grant
with PKCE, the id_token verifiable with the tenant's published keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from emulator_helpers import PEOPLE

REDIRECT = "https://beredskab.example/log-ind/microsoft/svar"


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def answer_of(response) -> dict:
    location = response.headers["Location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class SignIn:
    def __init__(self, m365):
        self.m365 = m365
        self.tenant = m365.config.tenant_id
        self.verifier = secrets.token_urlsafe(48)
        self.state, self.nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)

    def params(self, **changes) -> dict:
        params = {
            "client_id": self.m365.config.bot_app_id, "response_type": "code", "redirect_uri": REDIRECT,
            "scope": "openid profile email", "state": self.state, "nonce": self.nonce,
            "code_challenge": challenge_of(self.verifier), "code_challenge_method": "S256",
            "login_hint": PEOPLE[0]["email"],
        }
        params.update(changes)
        return {k: v for k, v in params.items() if v is not None}

    async def authorize(self, **changes):
        return await self.m365.client.get(f"/{self.tenant}/oauth2/v2.0/authorize", params=self.params(**changes),
                                          allow_redirects=False)

    async def code(self, **changes) -> str:
        response = await self.authorize(**changes)
        assert response.status == 302, await response.text()
        answer = answer_of(response)
        assert answer["state"] == self.state
        return answer["code"]

    async def redeem(self, code: str, **changes):
        form = {"grant_type": "authorization_code", "client_id": self.m365.config.bot_app_id,
                "client_secret": self.m365.config.bot_app_secret, "code": code, "redirect_uri": REDIRECT,
                "code_verifier": self.verifier}
        form.update(changes)
        return await self.m365.client.post(f"/{self.tenant}/oauth2/v2.0/token",
                                           data={k: v for k, v in form.items() if v is not None})


async def refused(response, status: int, error: str, aadsts: int) -> dict:
    body = await response.json()
    assert response.status == status, body
    assert body["error"] == error and body["error_codes"] == [aadsts], body
    assert body["error_description"].startswith(f"AADSTS{aadsts}:")
    return body


async def test_without_login_hint_the_account_picker_lists_the_known_people(m365):
    sign_in = SignIn(m365)
    response = await sign_in.authorize(login_hint=None)
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    for person in PEOPLE:
        assert person["name"] in page and person["email"] in page
    assert "login_hint=anna%40kk.example" in page or "login_hint=anna@kk.example" in page


async def test_a_code_is_redeemed_for_an_id_token_signed_with_the_tenant_key(m365):
    sign_in = SignIn(m365)
    code = await sign_in.code()
    response = await sign_in.redeem(code)
    assert response.status == 200, await response.text()
    tokens = await response.json()
    assert tokens["token_type"] == "Bearer" and tokens["access_token"]

    metadata = await (await m365.client.get(f"/{sign_in.tenant}/v2.0/.well-known/openid-configuration")).json()
    assert metadata["authorization_endpoint"].endswith(f"/{sign_in.tenant}/oauth2/v2.0/authorize")

    def verify():
        key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(tokens["id_token"])
        return jwt.decode(tokens["id_token"], key.key, algorithms=["RS256"], audience=m365.config.bot_app_id,
                          issuer=metadata["issuer"])

    claims = await asyncio.to_thread(verify)
    anna = PEOPLE[0]
    assert claims["tid"] == sign_in.tenant and claims["nonce"] == sign_in.nonce
    assert claims["oid"] == anna["teams_user_id"] and claims["name"] == anna["name"]
    assert claims["preferred_username"] == anna["email"] == claims["email"]
    assert claims["exp"] > claims["iat"]

    authorize, token = m365.emulator.log.select("token")
    assert authorize["path"].endswith("/oauth2/v2.0/authorize") and authorize["status"] == 302
    assert authorize["login_hint"] == anna["email"]
    assert token["status"] == 200 and token["body"]["client_secret"] == "***"
    assert token["user"] == anna["email"]


async def test_a_verifier_that_does_not_match_the_challenge_is_refused_and_spends_the_code(m365):
    sign_in = SignIn(m365)
    code = await sign_in.code()
    await refused(await sign_in.redeem(code, code_verifier=secrets.token_urlsafe(48)), 400, "invalid_grant", 501481)
    await refused(await sign_in.redeem(code), 400, "invalid_grant", 54005)
    [*_, record] = m365.emulator.log.select("token")
    assert record["error_code"] == "AADSTS54005"


async def test_a_missing_verifier_is_refused(m365):
    sign_in = SignIn(m365)
    await refused(await sign_in.redeem(await sign_in.code(), code_verifier=None), 400, "invalid_request", 900144)


async def test_a_code_is_single_use(m365):
    sign_in = SignIn(m365)
    code = await sign_in.code()
    assert (await sign_in.redeem(code)).status == 200
    await refused(await sign_in.redeem(code), 400, "invalid_grant", 54005)


async def test_an_expired_code_is_refused(m365):
    sign_in = SignIn(m365)
    code = await sign_in.code()
    m365.clock.advance(601)
    await refused(await sign_in.redeem(code), 400, "invalid_grant", 70008)


async def test_an_unknown_code_is_refused(m365):
    await refused(await SignIn(m365).redeem("1.AQnot-a-code"), 400, "invalid_grant", 70000)


async def test_another_redirect_uri_is_refused(m365):
    sign_in = SignIn(m365)
    code = await sign_in.code()
    await refused(await sign_in.redeem(code, redirect_uri="https://evil.example/svar"), 400, "invalid_grant", 50011)


async def test_the_client_secret_is_checked(m365):
    sign_in = SignIn(m365)
    code = await sign_in.code()
    await refused(await sign_in.redeem(code, client_secret="forkert"), 401, "invalid_client", 7000215)
    await refused(await sign_in.redeem(code, client_secret=None), 401, "invalid_client", 7000218)
    assert (await sign_in.redeem(code)).status == 200  # a refused client does not spend the code


@pytest.mark.parametrize("changes, error, aadsts", [
    ({"code_challenge": None}, "invalid_request", 900144),
    ({"code_challenge_method": "S512"}, "invalid_request", 9002313),
    ({"code_challenge": "too-short"}, "invalid_request", 501491),
    ({"response_type": "token"}, "unsupported_response_type", 700054),
    ({"scope": "User.Read"}, "invalid_scope", 70011),
])
async def test_bad_authorize_requests_go_back_with_an_error(m365, changes, error, aadsts):
    sign_in = SignIn(m365)
    response = await sign_in.authorize(**changes)
    assert response.status == 302
    answer = answer_of(response)
    assert "code" not in answer
    assert answer["error"] == error and answer["error_description"].startswith(f"AADSTS{aadsts}:")
    assert answer["state"] == sign_in.state


@pytest.mark.parametrize("changes, aadsts", [
    ({"client_id": "99999999-9999-9999-9999-999999999999"}, 700016),
    ({"client_id": None}, 900144),
    ({"redirect_uri": None}, 900144),
    ({"redirect_uri": "javascript:alert(1)"}, 50011),
    ({"login_hint": "ukendt@kk.example"}, 50034),
])
async def test_a_bad_client_redirect_uri_or_user_is_shown_as_an_error_page(m365, changes, aadsts):
    response = await SignIn(m365).authorize(**changes)
    assert response.status == 400 and response.content_type == "text/html"
    assert f"AADSTS{aadsts}" in await response.text()


async def test_an_unknown_tenant_is_refused(m365):
    response = await m365.client.get("/nowhere.example/oauth2/v2.0/authorize", params=SignIn(m365).params(),
                                     allow_redirects=False)
    assert response.status == 400 and "AADSTS90002" in await response.text()


async def test_id_token_changes_and_key_let_tests_make_bad_tokens(m365):
    sign_in = SignIn(m365)
    m365.emulator.id_token_changes = {"aud": "someone-else", "nonce": None}
    m365.emulator.id_token_key = m365.emulator.rogue_key()
    claims_token = (await (await sign_in.redeem(await sign_in.code())).json())["id_token"]
    claims = jwt.decode(claims_token, options={"verify_signature": False})
    assert claims["aud"] == "someone-else" and "nonce" not in claims
    assert jwt.get_unverified_header(claims_token)["kid"] == m365.emulator.rogue_key().kid
    m365.emulator.reset()
    assert m365.emulator.id_token_changes == {} and m365.emulator.id_token_key is None
