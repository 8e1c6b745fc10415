"""Teams personal chat through the bot: proactive messages over the Bot Connector API.

The Agents SDK's ``ConnectorClient`` makes the calls. A person's personal conversation is created
on first use (``POST v3/conversations``) and its id is returned so the worker can keep it. One
recipient per call: the Connector API has no batch send, and Teams limits each conversation to
7 requests a second (the app-wide 50 per second is kept by the worker's rate limiter).
"""
from __future__ import annotations

import asyncio
from typing import Sequence

import aiohttp
from microsoft_agents.activity import (Activity, Attachment, ChannelAccount,
                                       ConversationParameters)
from microsoft_agents.hosting.core.connector.client.connector_client import ConnectorClient

from ..tokens import BOT_SCOPE, ClientCredentialsTokens, TokenError
from .base import AlertMessage, DeliveryResult, Recipient
from .unanswered import may_have_arrived

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


class ConnectorClients:
    """One ConnectorClient per service URL, renewed when the bot's token changes."""

    def __init__(self, tokens: ClientCredentialsTokens, *, timeout: float = 30.0) -> None:
        self._tokens = tokens
        self._clients: dict[str, tuple[str, ConnectorClient]] = {}
        self.timeout = timeout  # seconds a call may take; no answer by then is no answer

    async def get(self, service_url: str) -> ConnectorClient:
        token = await self._tokens.token(BOT_SCOPE)
        current = self._clients.get(service_url)
        if current and current[0] == token:
            return current[1]
        if current:
            await current[1].close()
        endpoint = service_url if service_url.endswith("/") else service_url + "/"
        client = ConnectorClient(endpoint, token, session=aiohttp.ClientSession(
            base_url=endpoint, timeout=aiohttp.ClientTimeout(total=self.timeout)))
        self._clients[service_url] = (token, client)
        return client

    def forget_token(self) -> None:
        self._tokens.forget(BOT_SCOPE)

    async def close(self) -> None:
        for _, client in self._clients.values():
            await client.close()
        self._clients.clear()


# The reason shown on the incident page and in the alerts' state (Danish, for the user).
BLOCKED_REASON = ("Personen har blokeret eller fjernet botten i Teams "
                  "(403 MessageWritesBlocked); varslet sendes i stedet ad næste kanal")


def writes_blocked(error: aiohttp.ClientResponseError) -> bool:
    """Teams' answer to a proactive message for a person who blocked or uninstalled the bot:
    403 with subCode MessageWritesBlocked in the body (the connector client keeps the body as
    the error's message). Not a reason to retry ("Send proactive messages", "Understand who
    blocked, muted, or uninstalled a bot")."""
    return error.status == 403 and "MessageWritesBlocked" in str(error.message or "")


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class TeamsChatChannel:
    name = "teams"
    max_batch = 1

    def __init__(self, clients: ConnectorClients, *, service_url: str, bot_app_id: str,
                 tenant_id: str) -> None:
        self._clients = clients
        self.service_url = service_url
        self.bot_app_id = bot_app_id
        self.tenant_id = tenant_id

    def activity(self, message: AlertMessage) -> Activity:
        return Activity(
            type="message",
            text=message.text,
            summary=message.subject,
            attachments=[Attachment(content_type=ADAPTIVE_CARD, content=message.card)],
        )

    async def _conversation(self, client: ConnectorClient, recipient: Recipient) -> str:
        if recipient.conversation_id:
            return recipient.conversation_id
        created = await client.conversations.create_conversation(ConversationParameters(
            is_group=False,
            agent=ChannelAccount(id=f"28:{self.bot_app_id}"),
            members=[ChannelAccount(id=recipient.teams_user_id,
                                    aad_object_id=recipient.teams_user_id)],
            tenant_id=self.tenant_id,
            channel_data={"tenant": {"id": self.tenant_id}},
        ))
        return created.id

    async def send(self, message: AlertMessage, recipients: Sequence[Recipient]) -> DeliveryResult:
        (recipient,) = recipients
        if not recipient.teams_user_id:
            return DeliveryResult(ok=False, error="ingen Teams-identitet", transient=False)
        conversation_id = recipient.conversation_id
        try:
            client = await self._clients.get(self.service_url)
            conversation_id = await self._conversation(client, recipient)
            sent = await client.conversations.send_to_conversation(conversation_id,
                                                                   self.activity(message))
        except aiohttp.ClientResponseError as error:
            if error.status == 401:
                self._clients.forget_token()
            if writes_blocked(error):
                return DeliveryResult(ok=False, status_code=403, error=BLOCKED_REASON,
                                      transient=False, writes_blocked=True,
                                      conversation_id=conversation_id)
            return DeliveryResult(
                ok=False, status_code=error.status, error=f"{error.status} {error.message}"[:500],
                retry_after=_retry_after(error.headers),
                transient=error.status in (401, 404, 408, 412, 429) or error.status >= 500,
                # a 404 means the stored conversation is gone: start a new one next time
                conversation_id=None if error.status == 404 else conversation_id,
            )
        except TokenError as error:
            return DeliveryResult(ok=False, error=str(error), transient=True)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            return DeliveryResult(ok=False, error=f"forbindelsesfejl: {error!r}"[:500],
                                  transient=True, conversation_id=conversation_id,
                                  unknown=may_have_arrived(error))
        return DeliveryResult(ok=True, status_code=201, conversation_id=conversation_id,
                              provider_message_id=getattr(sent, "id", None))

    async def update_card(self, conversation_id: str, activity_id: str, card: dict) -> DeliveryResult:
        """Replace an earlier card in its conversation (PUT .../activities/{id})."""
        client = await self._clients.get(self.service_url)
        activity = Activity(type="message", id=activity_id,
                            attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card)])
        try:
            await client.conversations.update_activity(conversation_id, activity_id, activity)
        except aiohttp.ClientResponseError as error:
            if writes_blocked(error):
                return DeliveryResult(ok=False, status_code=403, error=BLOCKED_REASON,
                                      writes_blocked=True)
            return DeliveryResult(ok=False, status_code=error.status, error=str(error.message)[:500],
                                  retry_after=_retry_after(error.headers),
                                  transient=error.status == 429 or error.status >= 500)
        return DeliveryResult(ok=True, status_code=200, provider_message_id=activity_id,
                              conversation_id=conversation_id)
