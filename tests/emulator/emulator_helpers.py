"""Helpers for the Microsoft 365 emulator's tests: a fake clock, a harness around a served emulator, a test bot."""

from __future__ import annotations

import asyncio

import jwt
from aiohttp import web

from m365emulator import Emulator

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
BOT_SCOPE = "https://api.botframework.com/.default"
CARD = "application/vnd.microsoft.card.adaptive"

PEOPLE = [
    {"name": "Anna Andersen", "email": "anna@kk.example", "teams_user_id": "aaaaaaaa-0000-0000-0000-000000000001"},
    {"name": "Bo Bech", "email": "bo@kk.example", "teams_user_id": "aaaaaaaa-0000-0000-0000-000000000002"},
]
ANNA = PEOPLE[0]["teams_user_id"]


class FakeClock:
    """The limits' clock, moved by hand."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class EmulatorHarness:
    """An emulator served by a test client, with helpers for tokens and requests."""

    def __init__(self, emulator: Emulator, client, clock: FakeClock) -> None:
        self.emulator = emulator
        self.client = client
        self.clock = clock
        self.config = emulator.config

    async def token(self, scope: str = GRAPH_SCOPE, *, tenant: str | None = None, secret: str | None = None) -> str:
        response = await self.client.post(
            f"/{tenant or self.config.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.config.bot_app_id,
                "client_secret": secret or self.config.bot_app_secret,
                "scope": scope,
            },
        )
        assert response.status == 200, await response.text()
        return (await response.json())["access_token"]

    async def graph_headers(self) -> dict:
        return {"Authorization": f"Bearer {await self.token(GRAPH_SCOPE)}"}

    async def bot_headers(self) -> dict:
        return {"Authorization": f"Bearer {await self.token(BOT_SCOPE)}"}

    async def send_mail(self, headers: dict, *, to=(), cc=(), bcc=(), subject="Test", body=None, sender="ssp@kk.example"):
        def recipients(addresses):
            return [{"emailAddress": {"address": a}} for a in addresses]

        payload = {
            "message": {
                "subject": subject,
                "body": body or {"contentType": "Text", "content": "Hej"},
                "toRecipients": recipients(to),
                "ccRecipients": recipients(cc),
                "bccRecipients": recipients(bcc),
            },
            "saveToSentItems": True,
        }
        return await self.client.post(f"/v1.0/users/{sender}/sendMail", json=payload, headers=headers)

    async def post_activity(self, headers: dict, conversation_id: str, activity: dict | None = None):
        return await self.client.post(
            f"/connector/v3/conversations/{conversation_id}/activities",
            json=activity or {"type": "message", "text": "Hej"},
            headers=headers,
        )


class FakeBot:
    """A small bot: checks each activity's token against the emulator's OpenID keys (and the key's
    endorsement for the activity's channel), keeps what it got; refuses with 403 as the Bot
    Connector authentication page says."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.claims: list[dict] = []
        self.rejections: list[str] = []
        self.openid_url: str | None = None
        self.app_id: str | None = None
        self.invoke_card: dict | None = None
        self.endpoint: str | None = None

    def trust(self, emulator: Emulator) -> None:
        """Accept activities signed by this emulator (its OpenID metadata), addressed to its bot app id."""
        self.openid_url = f"{emulator.base_url}/botframework/v1/.well-known/openidconfiguration"
        self.app_id = emulator.config.bot_app_id

    async def handle(self, request: web.Request) -> web.Response:
        activity = await request.json()
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims, endorsements = await asyncio.to_thread(self._verify, token)
        except jwt.PyJWTError as exc:
            self.rejections.append(str(exc))
            return web.json_response({"error": str(exc)}, status=403)
        if claims.get("serviceurl") != activity.get("serviceUrl"):
            self.rejections.append("serviceurl")
            return web.json_response({"error": "serviceurl"}, status=403)
        if activity.get("channelId") not in endorsements:
            self.rejections.append("endorsement")
            return web.json_response({"error": "endorsement"}, status=403)
        self.claims.append(claims)
        self.received.append(activity)
        if activity["type"] == "invoke" and self.invoke_card is not None:
            return web.json_response({"statusCode": 200, "type": CARD, "value": self.invoke_card})
        if activity["type"] == "invoke":
            return web.json_response(
                {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": "Tak!"}
            )
        return web.Response(status=200)

    def _verify(self, token: str) -> tuple[dict, list]:
        import json
        import urllib.request

        with urllib.request.urlopen(self.openid_url) as response:  # noqa: S310 - the local emulator
            metadata = json.load(response)
        with urllib.request.urlopen(metadata["jwks_uri"]) as response:  # noqa: S310 - the local emulator
            keys = {key["kid"]: key for key in json.load(response)["keys"]}
        published = keys.get(jwt.get_unverified_header(token).get("kid"))
        if published is None:
            raise jwt.InvalidKeyError("the token's key is not published")
        claims = jwt.decode(
            token,
            jwt.PyJWK(published).key,
            algorithms=metadata["id_token_signing_alg_values_supported"],
            audience=self.app_id,
            issuer=metadata["issuer"],
        )
        return claims, published.get("endorsements", [])
