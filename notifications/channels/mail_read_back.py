"""Was an alert's e-mail sent after all? Read back from the sender's Sent Items through Graph.

Every alert mail carries a named extended property (``ALERT_PROPERTY``, the alert's id) and is
saved in the function mailbox's Sent Items. When a mail call was interrupted (its worker died),
the worker lists the Sent Items with that property's value before sending again
(``mailFolders/sentitems/messages`` with ``$filter=singleValueExtendedProperties/Any(...)``) and
sends only to the recipients no saved copy names (in To, Cc or Bcc).

Permission (application): Mail.Read, limited like Mail.Send to the function mailbox by an
Exchange Online application access policy. Mail.ReadBasic.All is not enough: it reads no
extended properties, and filtering on one needs Mail.Read (Graph, "Get
singleValueLegacyExtendedProperty", permissions).
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.single_value_legacy_extended_property import (
    SingleValueLegacyExtendedProperty,
)
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)

from ..tokens import TokenError
from .base import Recipient
from .read_back import ReadBackFailed

# A named MAPI property of our own (a fixed GUID for SSP Beredskab, the name says what it holds).
ALERT_PROPERTY = "String {88a19ea6-4674-4223-b419-1221b118a4d3} Name SSPBeredskabVarsel"
PAGE = 100
MAX_PAGES = 20


def alert_property(alert_id: int) -> SingleValueLegacyExtendedProperty:
    return SingleValueLegacyExtendedProperty(id=ALERT_PROPERTY, value=str(alert_id))


class SentItemsReadBack:
    def __init__(self, client: GraphServiceClient, *, sender: str) -> None:
        self._client = client
        self.sender = sender

    async def delivered(self, alert_id: int, recipients: Sequence[Recipient],
                        since: datetime) -> dict[str, str | None]:
        try:
            mailed = await self._mailed(alert_id)
        except APIError as error:
            raise ReadBackFailed(f"Graph {error.response_status_code}: {error.message or error}") from error
        except (httpx.HTTPError, TokenError, OSError) as error:
            raise ReadBackFailed(f"forbindelsesfejl: {error!r}") from error
        return {r.person_id: mailed[r.email.lower()] for r in recipients
                if r.email and r.email.lower() in mailed}

    async def _mailed(self, alert_id: int) -> dict[str, str]:
        # The alert's id alone finds its copies: a filter on an extended property is best not
        # combined with others in Graph, and an alert is mailed in a handful of messages.
        """Address -> id of the saved copy, for every address a sent copy of the alert names."""
        messages = self._client.users.by_user_id(self.sender).mail_folders.by_mail_folder_id(
            "sentitems").messages
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            top=PAGE, select=["id", "toRecipients", "ccRecipients", "bccRecipients"],
            filter=(f"singleValueExtendedProperties/Any(ep: ep/id eq '{ALERT_PROPERTY}' and "
                    f"ep/value eq '{alert_id}')"))
        page = await messages.get(request_configuration=RequestConfiguration(query_parameters=query))
        mailed: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            if page is None:
                return mailed
            for message in page.value or []:
                for recipient in [*(message.to_recipients or []), *(message.cc_recipients or []),
                                  *(message.bcc_recipients or [])]:
                    address = getattr(recipient.email_address, "address", None)
                    if address:
                        mailed.setdefault(address.lower(), message.id)
            if not page.odata_next_link:
                return mailed
            page = await messages.with_url(page.odata_next_link).get()
        raise ReadBackFailed("for mange sendte kopier af varslet")
