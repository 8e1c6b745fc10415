"""Bot Framework authentication of activities sent to the bot, checked against the emulator over HTTP.

The emulator plays the Bot Connector service: it publishes the OpenID metadata document and the
key set (with each key's endorsements) and signs every activity it posts to the bot. The service's
own check (`bot.activity_auth.ActivityTokenValidator`, behind `POST /api/messages`) reads them the
way it reads Microsoft's in production.

Documentation checked against:
- https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication
  ("Authenticate requests from the Bot Connector service to your bot": Step 2 "Get the OpenID
  metadata document", Step 3 "Get the list of valid signing keys", Step 4 "Verify the JWT token",
  "Connector to Bot: example JWT components", "Security protocol changes")
- https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference
  (the Activity object: `channelId`, `serviceUrl`)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.activity_auth import ActivityRejected, ActivityTokenValidator, MissingCredentials

from .auth_support import BOT_OPENID_PATH, PEOPLE, capturing_bot, entra, make_entra  # noqa: F401

BOT_ISSUER = "https://api.botframework.com"
ANNA = PEOPLE[0]["teams_user_id"]


async def metadata_and_keys(entra) -> tuple[dict, list[dict]]:
    metadata = await (await entra.client.get(BOT_OPENID_PATH)).json()
    async with aiohttp.ClientSession() as http:
        async with http.get(metadata["jwks_uri"]) as response:
            assert response.status == 200
            keys = (await response.json())["keys"]
    return metadata, keys


def sign(entra, claims: dict, *, key=None) -> str:
    key = key or entra.emulator.bot_key
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})


def activity_claims(entra, **changes) -> dict:
    now = int(time.time())
    claims = {"serviceurl": entra.emulator.service_url, "nbf": now - 60, "iat": now - 60, "exp": now + 3600,
              "iss": BOT_ISSUER, "aud": entra.app_id}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def check(entra, token: str, *, channel_id: str = "msteams", service_url: str | None = None,
                scheme: str = "Bearer") -> dict:
    """The service's validator, pointed at the emulator's metadata as at Microsoft's."""
    async with aiohttp.ClientSession() as http:
        validator = ActivityTokenValidator(http, metadata_url=entra.bot_openid_url, issuer=BOT_ISSUER,
                                           app_id=entra.app_id)
        return await validator.validate(f"{scheme} {token}", service_url=service_url or entra.emulator.service_url,
                                        channel_id=channel_id)


# Step 2: the OpenID metadata document ---------------------------------------------------------

async def test_the_openid_metadata_document_names_issuer_keys_and_algorithm(entra):
    """Step 2, "Get the OpenID metadata document": `issuer` https://api.botframework.com,
    `authorization_endpoint`, `jwks_uri` (the document with the valid signing keys),
    `id_token_signing_alg_values_supported` ["RS256"], `token_endpoint_auth_methods_supported`
    ["private_key_jwt"]; "Security protocol changes": the JWT issuer is https://api.botframework.com."""
    response = await entra.client.get(BOT_OPENID_PATH)
    assert response.status == 200 and response.content_type == "application/json"
    metadata = await response.json()
    assert metadata["issuer"] == BOT_ISSUER
    assert metadata["authorization_endpoint"] == "https://invalid.botframework.com"
    assert metadata["jwks_uri"] == f"{entra.base_url}/botframework/v1/.well-known/keys"
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]


# Step 3: the key set, with endorsements -------------------------------------------------------

async def test_every_published_key_is_a_jwk_with_endorsements(entra):
    """Step 3, "Get the list of valid signing keys": "The response body specifies the document in
    the JWK format but also includes an additional property for each key: endorsements", "one or
    more endorsement strings"."""
    _, keys = await metadata_and_keys(entra)
    assert len({key["kid"] for key in keys}) == len(keys) >= 1
    for key in keys:
        assert key["kty"] == "RSA" and key["use"] == "sig" and key["n"] and key["e"] == "AQAB"
        assert key["x5t"] and key["x5c"]
        jwt.PyJWK(key)  # a usable JWK (RFC 7517)
        assert isinstance(key["endorsements"], list) and key["endorsements"]
        assert all(isinstance(channel, str) and channel for channel in key["endorsements"])


async def test_teams_signs_with_a_key_endorsed_for_msteams_and_not_every_key_is(entra):
    """Step 3: the endorsements let the bot "verify that the channel ID specified in the
    `channelId` property within the Activity object of the incoming request is authentic"; the key
    set is shared by the channels, so a key may be endorsed for other channels only."""
    _, keys = await metadata_and_keys(entra)
    by_kid = {key["kid"]: key for key in keys}
    assert "msteams" in by_kid[entra.emulator.bot_key.kid]["endorsements"]
    assert "msteams" not in by_kid[entra.emulator.webchat_key.kid]["endorsements"]


# Step 4: the token the emulator sends with each activity ---------------------------------------

async def test_each_activity_comes_with_a_token_that_meets_every_requirement(make_entra, capturing_bot):
    """Step 4, "Verify the JWT token", requirements 1-7, and "Connector to Bot: example JWT
    components": the token is in the `Authorization` header with the Bearer scheme, a JWT (typ JWT,
    alg RS256, kid) whose issuer is https://api.botframework.com, whose audience is the bot's app id,
    which is within its validity period (nbf, exp), signed with a key of the key set by an
    algorithm the metadata names, with a `serviceurl` claim equal to the activity's `serviceUrl`;
    and the key is endorsed for the activity's `channelId`."""
    entra = await make_entra(bot_endpoint=capturing_bot.endpoint)
    status, _ = await entra.emulator.send_to_bot(ANNA, text="Hej")
    assert status == 200
    [(authorization, activity)] = capturing_bot.requests
    scheme, _, token = authorization.partition(" ")
    assert scheme == "Bearer" and token
    metadata, keys = await metadata_and_keys(entra)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "JWT" and header["alg"] in metadata["id_token_signing_alg_values_supported"]
    [key] = [k for k in keys if k["kid"] == header["kid"]]
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=metadata["id_token_signing_alg_values_supported"],
                        audience=entra.app_id, issuer=metadata["issuer"], options={"require": ["exp", "nbf"]})
    assert claims["nbf"] <= time.time() < claims["exp"]
    assert claims["serviceurl"] == activity["serviceUrl"] == entra.emulator.service_url
    assert activity["channelId"] == "msteams" and activity["channelId"] in key["endorsements"]


async def test_the_service_accepts_the_emulators_activity_token(entra):
    """Step 4: a token meeting requirements 1-7 and signed with a key endorsed for `msteams`
    passes the service's check; its claims come back."""
    claims = await check(entra, entra.emulator.signed_activity_token())
    assert claims["aud"] == entra.app_id and claims["iss"] == BOT_ISSUER


async def test_a_key_not_endorsed_for_the_channel_is_refused_with_403(entra):
    """Step 4: "If endorsement for a channel ID is required: ... If the endorsement isn't present,
    your bot should reject the request by returning an HTTP 403 (Forbidden) status code." The same
    key passes for a channel it is endorsed for: it is the endorsement that is checked."""
    token = entra.emulator.signed_activity_token(key=entra.emulator.webchat_key)
    with pytest.raises(ActivityRejected, match="not endorsed") as refused:
        await check(entra, token, channel_id="msteams")
    assert refused.value.status == 403
    assert (await check(entra, token, channel_id="webchat"))["aud"] == entra.app_id


async def test_an_activity_without_channel_id_cannot_be_endorsed(entra):
    """Step 3: by default every published channel id requires an endorsement; an activity that
    names no channel has none the key could be endorsed for."""
    with pytest.raises(ActivityRejected) as refused:
        await check(entra, entra.emulator.signed_activity_token(), channel_id=None)
    assert refused.value.status == 403


async def test_requirement_1_the_bearer_scheme(entra):
    """Step 4, requirement 1: "The token was sent in the HTTP Authorization header with "Bearer"
    scheme." Another scheme is refused (403); no header at all is a request without credentials
    (401, RFC 7235 section 3.1)."""
    with pytest.raises(ActivityRejected) as refused:
        await check(entra, entra.emulator.signed_activity_token(), scheme="Basic")
    assert refused.value.status == 403
    async with aiohttp.ClientSession() as http:
        validator = ActivityTokenValidator(http, metadata_url=entra.bot_openid_url, issuer=BOT_ISSUER,
                                           app_id=entra.app_id)
        with pytest.raises(MissingCredentials) as missing:
            await validator.validate(None, service_url=entra.emulator.service_url, channel_id="msteams")
    assert missing.value.status == 401


@pytest.mark.parametrize("changes, reason", [
    ({"iss": "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"}, "requirement 3: issuer"),
    ({"iss": None}, "requirement 3: issuer"),
    ({"aud": "22222222-2222-2222-2222-222222222222"}, "requirement 4: audience"),
    ({"aud": None}, "requirement 4: audience"),
    ({"exp": None}, "requirement 5: validity period"),
    ({"serviceurl": "https://smba.trafficmanager.net/emea/"}, "requirement 7: serviceUrl"),
    ({"serviceurl": None}, "requirement 7: serviceUrl"),
])
async def test_requirements_3_4_5_7_claims(entra, changes, reason):
    """Step 4, requirements 3 (issuer https://api.botframework.com), 4 (audience the bot's app id),
    5 (within its validity period) and 7 ("serviceUrl" claim matching the activity's serviceUrl):
    "If the token doesn't meet all of these requirements, your bot should ... return HTTP 403"."""
    with pytest.raises(ActivityRejected) as refused:
        await check(entra, sign(entra, activity_claims(entra, **changes)))
    assert refused.value.status == 403, reason


@pytest.mark.parametrize("seconds, passes", [(240, True), (360, False)])
async def test_requirement_5_expiry_with_five_minutes_of_clock_skew(entra, seconds, passes):
    """Step 4, requirement 5: "The token is within its validity period. Industry-standard
    clock-skew is 5 minutes." Expired 4 minutes ago passes; 6 minutes ago does not."""
    now = int(time.time())
    token = sign(entra, activity_claims(entra, exp=now - seconds, nbf=now - 3600, iat=now - 3600))
    if passes:
        assert (await check(entra, token))["exp"] == now - seconds
    else:
        with pytest.raises(ActivityRejected, match="expired"):
            await check(entra, token)


@pytest.mark.parametrize("seconds, passes", [(240, True), (360, False)])
async def test_requirement_5_not_before_with_five_minutes_of_clock_skew(entra, seconds, passes):
    """Step 4, requirement 5, at the other end of the validity period: a token whose `nbf` is 4
    minutes ahead passes, 6 minutes ahead does not."""
    now = int(time.time())
    token = sign(entra, activity_claims(entra, nbf=now + seconds, iat=now, exp=now + 3600))
    if passes:
        assert (await check(entra, token))["nbf"] == now + seconds
    else:
        with pytest.raises(ActivityRejected, match="not yet valid"):
            await check(entra, token)


async def test_requirement_2_a_malformed_token_is_refused(entra):
    """Step 4, requirement 2: "The token is valid JSON that conforms to the JWT standard."."""
    for token in ("not-a-jwt", "a.b.c", entra.emulator.signed_activity_token()[:-20]):
        with pytest.raises(ActivityRejected) as refused:
            await check(entra, token)
        assert refused.value.status == 403


def _unsigned_or_hmac(header: dict, claims: dict, secret: bytes | None) -> str:
    def part(data) -> str:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{part(signature)}"


async def test_requirement_6_signature_by_a_published_key_and_a_named_algorithm(entra):
    """Step 4, requirement 6: "The token has a valid cryptographic signature, with a key listed in
    the OpenID keys document ... using the signing algorithm that is specified in the
    id_token_signing_alg_values_supported property". A key the emulator does not publish, an
    unsigned token (alg none) and an HMAC made with the published public key are all refused."""
    claims = activity_claims(entra)
    kid = entra.emulator.bot_key.kid
    _, keys = await metadata_and_keys(entra)
    [published] = [k for k in keys if k["kid"] == kid]
    public_pem = jwt.PyJWK(published).key.public_bytes(encoding=serialization.Encoding.PEM,
                                                       format=serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = [
        sign(entra, claims, key=entra.emulator.rogue_key()),
        _unsigned_or_hmac({"alg": "none", "typ": "JWT", "kid": kid}, claims, None),
        _unsigned_or_hmac({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, public_pem),
    ]
    for token in forged:
        with pytest.raises(ActivityRejected) as refused:
            await check(entra, token)
        assert refused.value.status == 403


# The bot's answers at POST /api/messages ------------------------------------------------------

async def test_the_bot_endpoint_answers_403_for_a_key_not_endorsed_for_msteams(service):
    """Step 4: a key without the endorsement for the activity's channel is answered 403
    Forbidden by the service's /api/messages, and the activity is not processed; with no
    Authorization header the answer is 401 with a Bearer challenge (RFC 6750 section 3)."""
    emulator = service.emulator
    activity = {"type": "message", "text": "hej", "serviceUrl": emulator.service_url, "channelId": "msteams",
                "conversation": {"id": "a:1"}, "from": {"id": "29:x"}, "recipient": {"id": "28:bot"}}
    token = emulator.signed_activity_token(key=emulator.webchat_key)
    response = await service.client.post("/api/messages", json=activity, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 403
    response = await service.client.post("/api/messages", json=activity)
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert not any(emulator.chats.values())
