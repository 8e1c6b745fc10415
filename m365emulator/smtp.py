"""An SMTP server beside Graph (aiosmtpd): mail sent over SMTP lands in the same mailboxes.

Each accepted message is put in `emulator.mailboxes[address]` for every RCPT, in the shape of a
Graph copy (`mail.mailbox_copies`) plus `"route": "smtp"`, the message's `X-` headers and
`receivedDateTime`; and it is recorded with api `smtp` (in `graph-requests.jsonl`):
`{"api": "smtp", "ts_start", "ts_end", "method": "DATA", "path": "smtp://host:port", "status": 250,
"body": {"mail_from", "rcpt_tos", "subject"}, ...}`.

What the server refuses, as a mail server would:
* RCPT to a malformed address or one in the `.invalid` domain (RFC 2606): `550 5.1.1` (unknown user);
* the 501st RCPT of a message: `452 4.5.3 Too many recipients` (Exchange's 500 per message).
Faults (`apis` including `smtp`) are drawn once per message, at the end of DATA: an error draw answers
`451 4.3.0 Midlertidig fejl`, a throttle draw `451 4.7.500 Server busy`, a drop draw
`421 4.3.2` and the connection is closed. AUTH (PLAIN/LOGIN) is accepted with any credentials, also
without TLS; STARTTLS is not offered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import time
import uuid
import weakref
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid, parseaddr

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from .mail import ADDRESS
from .quotas import MAIL_RECIPIENTS_PER_MESSAGE
from .state import Emulator

SMTP_HOSTNAME = "m365emulator.local"
# Exchange Online's default maximum message size (35 MB) is about this much once encoded.
DATA_SIZE_LIMIT = 36 * 1024 * 1024

REPLY_ERROR = "451 4.3.0 Midlertidig fejl"
REPLY_THROTTLE = "451 4.7.500 Server busy. Please try again later."
REPLY_DROP = "421 4.3.2 Service not available, closing transmission channel"
REPLY_TOO_MANY = "452 4.5.3 Too many recipients"


def _utc_now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _refused_recipient(address: str) -> bool:
    domain = address.rpartition("@")[2].lower()
    return not ADDRESS.match(address) or domain == "invalid" or domain.endswith(".invalid")


def _content(part) -> str:
    return part.get_content().replace("\r\n", "\n") if part is not None else ""


def _body(message: EmailMessage) -> dict:
    """The HTML part if there is one, else the text part (Graph's itemBody), with plain line ends."""
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        return {"contentType": "html", "content": _content(html)}
    return {"contentType": "text", "content": _content(message.get_body(preferencelist=("plain",)))}


def _attachments(message: EmailMessage) -> list[str]:
    return [part.get_filename() or "(uden navn)" for part in message.iter_attachments()]


def parse_message(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def smtp_copies(raw: bytes, *, mail_from: str, rcpt_tos: list[str]) -> list[tuple[str, dict]]:
    """(lower-cased address, message) for each distinct RCPT; `bcc` when not in the To/Cc headers."""
    message = parse_message(raw)
    sender_name, sender = parseaddr(str(message.get("From") or ""))
    to = [address for _, address in getaddresses([str(v) for v in message.get_all("To", [])]) if address]
    cc = [address for _, address in getaddresses([str(v) for v in message.get_all("Cc", [])]) if address]
    shown = {a.lower() for a in to + cc}
    received_at = _utc_now_iso()
    common = {
        "message_id": str(message.get("Message-ID") or f"<{uuid.uuid4().hex}@{SMTP_HOSTNAME}>").strip(),
        "received_at": received_at,
        "receivedDateTime": received_at,
        "from": (sender or mail_from).lower(),
        "from_name": sender_name,
        "envelope_from": mail_from,
        "subject": str(message.get("Subject") or ""),
        "body": _body(message),
        "to": to,
        "cc": cc,
        "attachments": _attachments(message),
        "importance": str(message.get("Importance") or "normal").lower(),
        "headers": {name: str(value) for name, value in message.items() if name.lower().startswith("x-")},
        "route": "smtp",
    }
    copies: dict[str, dict] = {}
    for recipient in rcpt_tos:
        address = recipient.lower()
        if address not in copies:
            copies[address] = {"id": str(uuid.uuid4()), **common, "bcc": address not in shown}
    return list(copies.items())


class _Handler:
    """aiosmtpd's hooks: recipients checked, faults drawn, messages delivered and recorded."""

    def __init__(self, server: "EmulatorSmtpServer") -> None:
        self.server = server

    async def handle_MAIL(self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]):
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        envelope.ts_start = time.time()  # type: ignore[attr-defined]
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]):
        if len(envelope.rcpt_tos) >= MAIL_RECIPIENTS_PER_MESSAGE:
            return REPLY_TOO_MANY
        if _refused_recipient(address):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope):
        return await self.server.receive(smtp, envelope)


class EmulatorSmtpServer:
    """The emulator's SMTP server on host:port (0: a free port), in the running event loop."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator
        self.host = host
        self.port = port
        self._server: asyncio.AbstractServer | None = None
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"smtp://{host}:{self.port}"

    def _protocol(self) -> SMTP:
        protocol = SMTP(
            _Handler(self),
            hostname=SMTP_HOSTNAME,
            ident="Microsoft 365-emulator ESMTP",
            data_size_limit=DATA_SIZE_LIMIT,
            authenticator=_accept_any_login,
            auth_require_tls=False,
            loop=asyncio.get_running_loop(),
        )
        self._sessions.add(protocol)
        return protocol

    async def start(self) -> int:
        """Listen; returns the port (also set on `emulator.smtp_port`)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.emulator.smtp_port = self.port
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for protocol in list(self._sessions):
            if protocol.transport is not None:
                protocol.transport.close()
        await self._server.wait_closed()
        self._server = None
        self.emulator.smtp_port = None

    async def receive(self, smtp: SMTP, envelope: Envelope) -> str:
        """End of DATA: draw the fate, then deliver and record; the reply to send."""
        emulator = self.emulator
        raw = envelope.original_content or b""
        subject = str(parse_message(raw).get("Subject") or "")
        record: dict = {
            "api": "smtp",
            "ts_start": getattr(envelope, "ts_start", time.time()),
            "ts_end": None,
            "method": "DATA",
            "path": self.url,
            "query": None,
            "status": None,
            "body": {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "subject": subject},
            "retry_after": None,
            "fault": None,
            "mailbox": (envelope.mail_from or "").lower(),
        }
        fate = emulator.request_fate("smtp")
        if fate.delay:
            await asyncio.sleep(fate.delay)
        if fate.outcome == "drop":
            reply = REPLY_DROP
            # Close once the reply is written, as a server going away does.
            if smtp.transport is not None:
                asyncio.get_running_loop().call_soon(smtp.transport.close)
        elif fate.outcome == "error":
            reply = REPLY_ERROR
        elif fate.outcome == "throttle":
            reply = REPLY_THROTTLE
        else:
            copies = smtp_copies(raw, mail_from=envelope.mail_from or "", rcpt_tos=list(envelope.rcpt_tos))
            for address, message in copies:
                emulator.mailboxes.setdefault(address, []).append(message)
            message_id = copies[0][1]["message_id"] if copies else make_msgid(domain=SMTP_HOSTNAME)
            record["message_id"] = message_id
            reply = f"250 2.0.0 OK {message_id} Queued mail for delivery"
        record["fault"] = fate.outcome
        record["status"] = int(reply[:3])
        record["ts_end"] = time.time()
        emulator.log.add(record)
        return reply


def _accept_any_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    """The emulator has no passwords: any AUTH PLAIN/LOGIN succeeds."""
    return AuthResult(success=True, auth_data=auth_data)
