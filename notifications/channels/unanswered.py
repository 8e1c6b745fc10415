"""Did a call that failed without an answer perhaps take effect?

A call that got an answer (2xx, 4xx, 5xx, 429) says what happened. A call that got none (the
connection was reset or closed after the request went out, or the client's timeout ran out while
waiting) leaves it open: Microsoft may have posted the card or sent the mail and the answer was
lost on the way back. Neither the Bot Connector nor Graph ``sendMail`` takes an idempotency key,
so such a call is *unknown*, not failed: the worker reads back what arrived before it sends again
(``read_back.py``). Only a call that never left (the connection could not be opened) is known
not to have reached Microsoft.
"""
from __future__ import annotations

import aiohttp
import httpx

# The connection was never made, so the request was never sent.
_AIOHTTP_NOT_SENT = (aiohttp.ClientConnectorError, getattr(aiohttp, "ConnectionTimeoutError", ()))
_HTTPX_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                   httpx.UnsupportedProtocol)


def may_have_arrived(error: BaseException) -> bool:
    """Whether the request behind this connection error or timeout may have reached Microsoft."""
    return not isinstance(error, _AIOHTTP_NOT_SENT + _HTTPX_NOT_SENT)
