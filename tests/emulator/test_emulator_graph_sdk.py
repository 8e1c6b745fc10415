"""msgraph-sdk's sendMail against the emulator: PascalCase body accepted, 429 seen as ODataError."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("msgraph")

from kiota_abstractions.authentication import AnonymousAuthenticationProvider  # noqa: E402
from kiota_abstractions.base_request_configuration import RequestConfiguration  # noqa: E402
from kiota_http.middleware.options import RetryHandlerOption  # noqa: E402
from msgraph.generated.models.email_address import EmailAddress  # noqa: E402
from msgraph.generated.models.item_body import ItemBody  # noqa: E402
from msgraph.generated.models.message import Message  # noqa: E402
from msgraph.generated.models.o_data_errors.o_data_error import ODataError  # noqa: E402
from msgraph.generated.models.recipient import Recipient  # noqa: E402
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody  # noqa: E402
from msgraph.graph_request_adapter import GraphRequestAdapter  # noqa: E402
from msgraph.graph_service_client import GraphServiceClient  # noqa: E402
from msgraph_core import GraphClientFactory  # noqa: E402


def recipients(*addresses):
    return [Recipient(email_address=EmailAddress(address=a)) for a in addresses]


async def test_msgraph_sdk_send_mail_and_throttling(m365):
    headers = await m365.graph_headers()
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(headers=headers))
    adapter = GraphRequestAdapter(AnonymousAuthenticationProvider(), http)
    adapter.base_url = f"{m365.emulator.base_url}/v1.0"
    graph = GraphServiceClient(request_adapter=adapter)
    body = SendMailPostRequestBody(
        message=Message(
            subject="Fra msgraph-sdk",
            body=ItemBody(content="<p>Hej</p>"),
            to_recipients=recipients("anna@kk.example"),
            bcc_recipients=recipients("bo@kk.example"),
        ),
        save_to_sent_items=True,
    )
    no_retry = RequestConfiguration(options=[RetryHandlerOption(max_retries=0)])
    send = graph.users.by_user_id("ssp@kk.example").send_mail
    try:
        for _ in range(30):
            await send.post(body, request_configuration=no_retry)
        with pytest.raises(ODataError) as refused:
            await send.post(body, request_configuration=no_retry)
    finally:
        await http.aclose()

    assert refused.value.response_status_code == 429
    assert int(refused.value.response_headers["Retry-After"]) == 60
    assert refused.value.error.code == "ApplicationThrottled"
    assert m365.emulator.mailboxes["bo@kk.example"][0]["bcc"] is True
    assert "Message" in m365.emulator.log.select("graph")[0]["body"]
