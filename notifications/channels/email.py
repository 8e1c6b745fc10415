"""Email through Microsoft Graph `sendMail` with msgraph-sdk.

One message per batch: the sender's function mailbox in To, the recipients in BCC (at most
``max_batch``, Exchange's 500 recipients per message). The SDK's own retry handler is switched
off: throttling (429 with Retry-After) and transient faults come back to the delivery worker,
which owns the retry schedule and writes every attempt down.
"""
from __future__ import annotations

import asyncio
from typing import Sequence

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from kiota_abstractions.authentication import BaseBearerTokenAuthenticationProvider
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.file_attachment import FileAttachment
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient as GraphRecipient
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
    SendMailPostRequestBody,
)
from msgraph_core import GraphClientFactory

from ..tokens import GRAPH_SCOPE, ClientCredentialsTokens, TokenError
from .base import AlertMessage, DeliveryResult, Recipient
from .mail_read_back import alert_property
from .unanswered import may_have_arrived


class _GraphTokens(AccessTokenProvider):
    def __init__(self, tokens: ClientCredentialsTokens, base_url: str) -> None:
        self._tokens = tokens
        self._hosts = AllowedHostsValidator([httpx.URL(base_url).host])

    async def get_authorization_token(self, uri: str, additional_authentication_context=None) -> str:
        return await self._tokens.token(GRAPH_SCOPE)

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


def graph_client(tokens: ClientCredentialsTokens, base_url: str, *,
                 retries: int = 0) -> GraphServiceClient:
    """A Graph client for ``base_url`` (e.g. https://graph.microsoft.com/v1.0); without SDK
    retries unless ``retries`` (then 429, 503 and 504 are retried, after Retry-After)."""
    retry = (RetryHandlerOption(max_retries=retries) if retries
             else RetryHandlerOption(max_retries=0, should_retry=False))
    http = GraphClientFactory.create_with_default_middleware(
        options={RetryHandlerOption.get_key(): retry},
    )
    http.timeout = httpx.Timeout(30.0)
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(_GraphTokens(tokens, base_url)),
                                  client=http)
    adapter.base_url = base_url.rstrip("/")
    return GraphServiceClient(request_adapter=adapter)


def _address(email: str) -> GraphRecipient:
    return GraphRecipient(email_address=EmailAddress(address=email))


def _retry_after(headers) -> float | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if key.lower() == "retry-after":
            try:
                return float(value if isinstance(value, str) else next(iter(value)))
            except (TypeError, ValueError, StopIteration):
                return None
    return None


class GraphMailChannel:
    name = "email"

    def __init__(self, client: GraphServiceClient, *, sender: str, max_batch: int = 500) -> None:
        self._client = client
        self.sender = sender
        self.max_batch = max_batch

    async def send(self, message: AlertMessage, recipients: Sequence[Recipient]) -> DeliveryResult:
        addresses = [r.email for r in recipients if r.email]
        if not addresses:
            return DeliveryResult(ok=False, error="ingen e-mailadresse", transient=False)
        if len(addresses) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} recipients per message")
        body = SendMailPostRequestBody(
            message=Message(
                subject=message.subject,
                body=ItemBody(content_type=BodyType.Html, content=message.html or message.text),
                to_recipients=[_address(self.sender)],
                bcc_recipients=[_address(a) for a in addresses],
                attachments=[FileAttachment(odata_type="#microsoft.graph.fileAttachment",
                                            name=name, content_type=content_type,
                                            content_bytes=content)
                             for name, content_type, content in message.attachments] or None,
                # Found again in Sent Items if this call is interrupted (mail_read_back.py).
                single_value_extended_properties=[alert_property(message.alert_id)],
            ),
            save_to_sent_items=True,
        )
        try:
            await self._client.users.by_user_id(self.sender).send_mail.post(body)
        except APIError as error:
            status = error.response_status_code
            return DeliveryResult(ok=False, status_code=status, error=str(error)[:500],
                                  retry_after=_retry_after(error.response_headers),
                                  transient=status is None or status == 429 or status >= 500)
        except TokenError as error:
            return DeliveryResult(ok=False, error=str(error), transient=True)
        except (httpx.HTTPError, asyncio.TimeoutError) as error:
            return DeliveryResult(ok=False, error=f"forbindelsesfejl: {error!r}"[:500], transient=True,
                                  unknown=may_have_arrived(error))
        return DeliveryResult(ok=True, status_code=202)
