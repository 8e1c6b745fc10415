"""Was a Teams card delivered after all? Read back from the person's chat through Graph.

The Bot Connector takes no idempotency key. When a worker dies in the middle of a call (SIGKILL,
a lost machine, a lease that ran out), Teams may have posted the card although no answer was
written down; sending again would alert the person twice. So before a Teams delivery whose
earlier claim ran out unanswered is sent again, the worker looks in the chat between the person
and the bot: ``users/{id}/teamwork/installedApps`` (our bot's installation),
``.../installedApps/{id}/chat`` (the chat) and ``chats/{id}/messages`` posted since the delivery
was queued. Every card the worker posts carries the element id ``varsel-<alert id>``
(``read_back.card_marker``: templates/teams/*.json.j2 and the meeting card); if one is there,
the delivery is written down as sent.

How the messages are asked for follows "List messages in a chat"
(https://learn.microsoft.com/en-us/graph/api/chat-list-messages, "Optional query parameters"):
``$orderby`` only descending on ``lastModifiedDateTime`` or ``createdDateTime``; ``$filter`` only
``lastModifiedDateTime`` with ``gt``/``lt`` and ``createdDateTime`` with ``lt``, applied only
together with ``$orderby`` on the same property (otherwise ignored); ``$top`` at most 50. "Posted
since" is a bound on ``createdDateTime`` from below, which Graph does not filter (``gt`` is
refused with 400). A ``lastModifiedDateTime gt`` filter would be taken, but it answers another
question: it also returns every older card changed since (a card is replaced in place when it is
acknowledged, and a follow-up redraws the earlier card), and it leans on when Teams counts a
message as modified. So the chat is read newest first by ``createdDateTime desc``, without a
filter, 50 a page, and the reading stops at the first message posted before the delivery was
queued (less ``read_back.SLACK`` for clocks that differ): exactly the messages posted since,
using only the order the page promises.

Permissions (application): TeamsAppInstallation.ReadForUser.All and Chat.Read.All.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Sequence

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.chats.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.users.item.teamwork.installed_apps.installed_apps_request_builder import (
    InstalledAppsRequestBuilder,
)

from ..tokens import TokenError
from .base import Recipient
from .read_back import ReadBackFailed, card_marker, look_back_to

log = logging.getLogger(__name__)

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
PAGE = 50  # Graph's largest page of chat messages
MAX_PAGES = 10  # a personal chat with the bot holds few cards since a delivery was queued


def _has_marker(node, marker: str) -> bool:
    if isinstance(node, dict):
        return node.get("id") == marker or any(_has_marker(v, marker) for v in node.values())
    if isinstance(node, list):
        return any(_has_marker(v, marker) for v in node)
    return False


def carries_alert(content, alert_id: int) -> bool:
    """Whether an attachment's content (a card, as Graph gives it: a JSON string) is the alert's."""
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return False
    return _has_marker(content, card_marker(alert_id))


class TeamsChatReadBack:
    def __init__(self, client: GraphServiceClient, *, bot_app_id: str) -> None:
        self._client = client
        self.bot_app_id = bot_app_id.lower()

    async def delivered(self, alert_id: int, recipients: Sequence[Recipient],
                        since: datetime) -> dict[str, str | None]:
        found = {}
        for recipient in recipients:
            if recipient.teams_user_id:
                card = await self.find_card(recipient.teams_user_id, alert_id, since)
                if card is not None:
                    found[recipient.person_id] = card
        return found

    async def find_card(self, teams_user_id: str, alert_id: int, since: datetime) -> str | None:
        """The id of the alert's card in the person's chat with the bot, or None if it is not
        there; ReadBackFailed if Graph could not tell."""
        try:
            chat_id = await self._chat_id(teams_user_id)
            if chat_id is None:
                return None  # no chat with the bot: nothing can have been posted
            return await self._card_in_chat(chat_id, alert_id, since)
        except APIError as error:
            raise ReadBackFailed(f"Graph {error.response_status_code}: {error.message or error}") from error
        except (httpx.HTTPError, TokenError, OSError) as error:
            raise ReadBackFailed(f"forbindelsesfejl: {error!r}") from error

    async def _chat_id(self, teams_user_id: str) -> str | None:
        installed = self._client.users.by_user_id(teams_user_id).teamwork.installed_apps
        query = InstalledAppsRequestBuilder.InstalledAppsRequestBuilderGetQueryParameters(
            expand=["teamsAppDefinition($expand=bot)"])
        page = await installed.get(request_configuration=RequestConfiguration(query_parameters=query))
        while page is not None:
            for app in page.value or []:
                bot = getattr(app.teams_app_definition, "bot", None)
                if bot is not None and (bot.id or "").lower() == self.bot_app_id:
                    chat = await installed.by_user_scope_teams_app_installation_id(app.id).chat.get()
                    return chat.id if chat else None
            if not page.odata_next_link:
                return None
            page = await installed.with_url(page.odata_next_link).get()
        return None

    async def _card_in_chat(self, chat_id: str, alert_id: int, since: datetime) -> str | None:
        messages = self._client.chats.by_chat_id(chat_id).messages
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            top=PAGE, orderby=["createdDateTime desc"])
        bound = look_back_to(since)
        page = await messages.get(request_configuration=RequestConfiguration(query_parameters=query))
        for _ in range(MAX_PAGES):
            if page is None:
                return None
            for message in page.value or []:
                posted = message.created_date_time
                if posted is not None and posted.astimezone(timezone.utc) < bound:
                    return None  # newest first: everything from here on is older
                for attachment in message.attachments or []:
                    if attachment.content_type == ADAPTIVE_CARD and carries_alert(attachment.content, alert_id):
                        return message.id
            if not page.odata_next_link:
                return None
            page = await messages.with_url(page.odata_next_link).get()
        raise ReadBackFailed("for mange beskeder i chatten siden leveringen blev sat i kø")
