"""Posting into a Teams channel through the bot (Graph cannot post channel messages with an app token).

The Agents SDK's ``ConnectorClient`` makes the calls. ``post`` starts a new thread in a channel
(``POST v3/conversations`` with ``isGroup``, ``channelData.channel.id`` and the activity); Teams answers
with the thread's conversation id, ``<channel id>;messageid=<activity id>``, which ``reply`` posts
into and ``update`` (with the activity id) replaces a card in. ``update_card`` replaces a posted
card in any conversation, personal or channel.

Errors come back as a DeliveryResult the way ``teams.py`` maps them: 429 with its Retry-After, 5xx,
timeouts and dropped connections are transient; a 404 (unknown channel, thread or activity) is not.
"""
from __future__ import annotations

import asyncio

import aiohttp
from microsoft_agents.activity import (Activity, Attachment, ChannelAccount,
                                       ConversationParameters)

from ..tokens import TokenError
from .base import AlertMessage, DeliveryResult
from .teams import ADAPTIVE_CARD, ConnectorClients, _retry_after

THREAD_SEPARATOR = ";messageid="


def card_activity(message: AlertMessage) -> Activity:
    """The alert as a Teams message: notification text, the Adaptive Card."""
    return Activity(
        type="message",
        text=message.text,
        summary=message.subject,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=message.card)],
    )


def _failure(clients: ConnectorClients, error: Exception, conversation_id: str | None) -> DeliveryResult:
    if isinstance(error, aiohttp.ClientResponseError):
        if error.status == 401:
            clients.forget_token()
        return DeliveryResult(
            ok=False, status_code=error.status, error=f"{error.status} {error.message}"[:500],
            retry_after=_retry_after(error.headers),
            # 404: the channel, thread or activity is not there; trying again will not help.
            transient=error.status in (401, 408, 412, 429) or error.status >= 500,
            conversation_id=conversation_id,
        )
    if isinstance(error, TokenError):
        return DeliveryResult(ok=False, error=str(error), transient=True, conversation_id=conversation_id)
    return DeliveryResult(ok=False, error=f"forbindelsesfejl: {error!r}"[:500], transient=True,
                          conversation_id=conversation_id)


_FAILURES = (aiohttp.ClientError, asyncio.TimeoutError, TokenError)


async def update_card(clients: ConnectorClients, service_url: str, conversation_id: str, activity_id: str,
                      activity: Activity | dict) -> DeliveryResult:
    """Replace a posted activity (``PUT v3/conversations/{id}/activities/{activityId}``) in any conversation."""
    if isinstance(activity, dict):
        activity = Activity.model_validate(activity)
    activity = activity.model_copy(update={"id": activity_id})
    try:
        client = await clients.get(service_url)
        await client.conversations.update_activity(conversation_id, activity_id, activity)
    except _FAILURES as error:
        return _failure(clients, error, conversation_id)
    return DeliveryResult(ok=True, status_code=200, conversation_id=conversation_id,
                          provider_message_id=activity_id)


class TeamsChannelPoster:
    """Threads in Teams channels: start one with an alert, reply in it, update its card."""

    def __init__(self, clients: ConnectorClients, *, service_url: str, bot_app_id: str,
                 tenant_id: str) -> None:
        self._clients = clients
        self.service_url = service_url
        self.bot_app_id = bot_app_id
        self.tenant_id = tenant_id

    async def post(self, message: AlertMessage, channel_id: str) -> DeliveryResult:
        """A new thread in the channel; its conversation id and the activity id come back."""
        if not channel_id:
            return DeliveryResult(ok=False, error="ingen kanal", transient=False)
        try:
            client = await self._clients.get(self.service_url)
            created = await client.conversations.create_conversation(ConversationParameters(
                is_group=True,
                agent=ChannelAccount(id=f"28:{self.bot_app_id}"),
                channel_data={"channel": {"id": channel_id}, "tenant": {"id": self.tenant_id}},
                activity=card_activity(message),
                tenant_id=self.tenant_id,
            ))
        except _FAILURES as error:
            return _failure(self._clients, error, None)
        activity_id = created.activity_id
        if not activity_id and THREAD_SEPARATOR in (created.id or ""):
            activity_id = created.id.rpartition(THREAD_SEPARATOR)[2]
        return DeliveryResult(ok=True, status_code=201, conversation_id=created.id,
                              provider_message_id=activity_id)

    async def reply(self, message: AlertMessage, conversation_id: str) -> DeliveryResult:
        """A reply in the thread whose conversation id ``post`` returned."""
        try:
            client = await self._clients.get(self.service_url)
            sent = await client.conversations.send_to_conversation(conversation_id, card_activity(message))
        except _FAILURES as error:
            return _failure(self._clients, error, conversation_id)
        return DeliveryResult(ok=True, status_code=201, conversation_id=conversation_id,
                              provider_message_id=getattr(sent, "id", None))

    async def update(self, message: AlertMessage, conversation_id: str, activity_id: str) -> DeliveryResult:
        """Replace the card of a post (the thread's first post, or a reply) with the message's card."""
        return await update_card(self._clients, self.service_url, conversation_id, activity_id,
                                 card_activity(message))
