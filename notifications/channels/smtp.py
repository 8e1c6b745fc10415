"""Email over SMTP with aiosmtplib: the second mail route (function mailboxes, and a fallback when Graph fails).

One message per batch, as with Graph: the sender in From and To, the recipients in the envelope
only (BCC), a text and an HTML alternative. The alert is named in `X-SSP-Beredskab-Alert`, an
exercise marked with `X-SSP-Beredskab-Exercise: ja`. Replies map to a DeliveryResult: 4xx and
lost or refused connections are transient, 5xx permanent. When the server refuses some
recipients the message still went to the others (ok, with the refused ones in `error`); when it
refuses all, the batch fails.
"""
from __future__ import annotations

import asyncio
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from typing import Sequence

import aiosmtplib

from .base import AlertMessage, DeliveryResult, Recipient

# What we hand to the server: a plain address, no display name, no line breaks.
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def _response_text(error: aiosmtplib.SMTPResponseException) -> str:
    return f"{error.code} {error.message}".strip()


class SmtpMailChannel:
    def __init__(self, name: str = "smtp", *, host: str, port: int, sender: str, max_batch: int = 100,
                 starttls: bool = False, username: str | None = None, password: str | None = None,
                 timeout: float = 30) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.sender = sender
        self.max_batch = max_batch
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout

    def mime(self, message: AlertMessage) -> EmailMessage:
        """The message as sent: multipart/alternative (text, HTML), the sender in From and To."""
        mime = EmailMessage(policy=SMTP_POLICY)
        mime["From"] = Address(addr_spec=self.sender)
        mime["To"] = Address(addr_spec=self.sender)
        mime["Subject"] = message.subject
        mime["Date"] = formatdate(localtime=False, usegmt=True)
        mime["Message-ID"] = make_msgid(idstring=f"alert{message.alert_id}", domain=_domain(self.sender))
        mime["X-SSP-Beredskab-Alert"] = str(message.alert_id)
        if message.exercise:
            mime["X-SSP-Beredskab-Exercise"] = "ja"
        mime.set_content(message.text, subtype="plain", charset="utf-8", cte="quoted-printable")
        if message.html:
            mime.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
        for name, content_type, content in message.attachments:
            maintype, _, subtype = content_type.partition("/")
            mime.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream",
                                filename=name)
        return mime

    async def send(self, message: AlertMessage, recipients: Sequence[Recipient]) -> DeliveryResult:
        # One RCPT per address (addresses differing only in case are one mailbox).
        addresses: list[str] = []
        seen: set[str] = set()
        for recipient in recipients:
            address = (recipient.email or "").strip()
            if address and address.lower() not in seen:
                seen.add(address.lower())
                addresses.append(address)
        if not addresses:
            return DeliveryResult(ok=False, error="ingen e-mailadresse", transient=False)
        if len(addresses) > self.max_batch:
            raise ValueError(f"at most {self.max_batch} recipients per message")
        malformed = [a for a in addresses if not _ADDRESS.match(a)]
        addresses = [a for a in addresses if a not in malformed]
        if not addresses:
            return DeliveryResult(ok=False, error=f"ugyldige e-mailadresser: {', '.join(malformed)}"[:500],
                                  transient=False)
        mime = self.mime(message)
        try:
            refused, _reply = await aiosmtplib.send(
                mime, sender=self.sender, recipients=addresses, hostname=self.host, port=self.port,
                start_tls=self.starttls, username=self.username, password=self.password,
                timeout=self.timeout)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [r.code for r in error.recipients]
            listed = ", ".join(f"{r.recipient} ({_response_text(r)})" for r in error.recipients)
            return DeliveryResult(ok=False, status_code=codes[0] if codes else None,
                                  error=f"alle modtagere afvist: {listed}"[:500],
                                  transient=bool(codes) and all(400 <= c < 500 for c in codes))
        except aiosmtplib.SMTPResponseException as error:
            # 4xx: try again later (451, 421 closing, 452); 5xx: the server will not take it.
            return DeliveryResult(ok=False, status_code=error.code, error=_response_text(error)[:500],
                                  transient=400 <= error.code < 500)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                aiosmtplib.SMTPTimeoutError, OSError, asyncio.TimeoutError) as error:
            return DeliveryResult(ok=False, error=f"forbindelsesfejl: {error!r}"[:500], transient=True)
        except (aiosmtplib.SMTPException, ValueError) as error:
            # e.g. STARTTLS or AUTH not offered by the server: configuration, not worth retrying.
            return DeliveryResult(ok=False, error=f"SMTP-fejl: {error}"[:500], transient=False)
        problems = [f"{address} ({_response_text_of(reply)})" for address, reply in refused.items()]
        problems += [f"{address} (ugyldig adresse)" for address in malformed]
        return DeliveryResult(ok=True, status_code=250, provider_message_id=str(mime["Message-ID"]),
                              error=f"afvist: {', '.join(problems)}"[:500] if problems else None)


def _response_text_of(reply) -> str:
    return f"{getattr(reply, 'code', '')} {getattr(reply, 'message', reply)}".strip()
