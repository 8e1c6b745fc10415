"""Graph `sendMail`: reading the request as Graph does, and the copies that land in mailboxes."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses

from .quotas import MAIL_RECIPIENTS_PER_MESSAGE

ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class MailRejected(Exception):
    """A 400 from Graph, with its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def field_of(data: dict, name: str, default=None):
    """Graph matches property names without regard to case (`message` and `Message`)."""
    if name in data:
        return data[name]
    lowered = name.lower()
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return default


@dataclass
class OutgoingMail:
    subject: str
    body: dict
    to: list[dict] = field(default_factory=list)
    cc: list[dict] = field(default_factory=list)
    bcc: list[dict] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    importance: str = "normal"
    save_to_sent_items: bool = True
    # singleValueExtendedProperties: property id (as given) -> value
    extended_properties: dict[str, str] = field(default_factory=dict)

    @property
    def recipient_count(self) -> int:
        return len(self.to) + len(self.cc) + len(self.bcc)


def _recipients(message: dict, name: str) -> list[dict]:
    items = field_of(message, name) or []
    if not isinstance(items, list):
        raise MailRejected("ErrorInvalidRecipients", f"'{name}' must be a collection of recipients.")
    recipients = []
    for item in items:
        email = field_of(item, "emailAddress") if isinstance(item, dict) else None
        address = field_of(email, "address") if isinstance(email, dict) else None
        if not isinstance(address, str) or not ADDRESS.match(address.strip()):
            raise MailRejected(
                "ErrorInvalidRecipients",
                f"At least one recipient isn't valid., Recipient '{address}' is not resolved.",
            )
        recipients.append({"address": address.strip(), "name": field_of(email, "name") or ""})
    return recipients


ATTACHMENT_TYPES = ("#microsoft.graph.fileAttachment", "#microsoft.graph.itemAttachment",
                    "#microsoft.graph.referenceAttachment")


def _attachments(message: dict) -> list[str]:
    names = []
    for item in field_of(message, "attachments") or []:
        if not isinstance(item, dict) or not field_of(item, "name"):
            raise MailRejected("ErrorInvalidRequest", "An attachment needs a name.")
        # `attachment` is abstract: Graph needs the derived type to read one.
        if field_of(item, "@odata.type") not in ATTACHMENT_TYPES:
            raise MailRejected(
                "RequestBodyRead",
                "An attachment needs its @odata.type (#microsoft.graph.fileAttachment, itemAttachment or "
                "referenceAttachment): attachment is an abstract type.",
            )
        content = field_of(item, "contentBytes")
        if content is not None:
            try:
                base64.b64decode(content, validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise MailRejected("ErrorInvalidRequest", "contentBytes is not valid base64.") from None
        names.append(str(field_of(item, "name")))
    return names


# A single-value extended property's id: "{type} {guid} Name {name}", "{type} {guid} Id 0x{id}" or
# "{type} 0x{proptag}" (Outlook extended properties overview, id formats).
PROPERTY_ID = re.compile(
    r"^(String|Integer|Boolean|SystemTime|Binary|Long|Double|Currency|CLSID|Short|Float) "
    r"(\{[0-9a-fA-F-]{36}\} (Name \S.*|Id 0x[0-9a-fA-F]+)|0x[0-9a-fA-F]{1,8})$", re.IGNORECASE)


def property_key(property_id: str) -> tuple[str, str, str]:
    """What makes two ids name the same property: type and GUID in any case, the Name as written
    (filtering on the Name in an id is case-sensitive, the rest is not)."""
    kind, _, rest = property_id.strip().partition(" ")
    match = re.match(r"^(\{[0-9a-fA-F-]{36}\}) (Name|Id) (.*)$", rest, re.IGNORECASE)
    if match is None:
        return kind.lower(), "", rest.lower()
    name = match.group(3) if match.group(2).lower() == "name" else match.group(3).lower()
    return kind.lower(), match.group(1).lower(), f"{match.group(2).lower()} {name}"


def _extended_properties(message: dict) -> dict[str, str]:
    properties = {}
    for item in field_of(message, "singleValueExtendedProperties") or []:
        property_id = field_of(item, "id") if isinstance(item, dict) else None
        value = field_of(item, "value") if isinstance(item, dict) else None
        if not isinstance(property_id, str) or not PROPERTY_ID.match(property_id) or not isinstance(value, str):
            raise MailRejected("ErrorInvalidProperty", f"The extended property '{property_id}' is not valid.")
        properties[property_id] = value
    return properties


BODY_TYPES = ("text", "html")  # itemBody.contentType (bodyType)
IMPORTANCE = ("low", "normal", "high")  # message.importance


def _enum(value: object, allowed: tuple[str, ...], default: str) -> str:
    """An enum member as Graph reads it (any case), or the 400 Graph gives for another value."""
    if value is None:
        return default
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    raise MailRejected("RequestBodyRead", f"Requested value '{value}' was not found.")


def _save_to_sent_items(payload: dict) -> bool:
    """saveToSentItems: a Boolean; Graph also reads "true"/"false" (its own example sends "false")."""
    value = field_of(payload, "saveToSentItems", True)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MailRejected("RequestBodyRead", f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'.")


def _with_recipients(mail: OutgoingMail) -> OutgoingMail:
    """The mail if it has between 1 and 500 recipients (Exchange Online's limit per message)."""
    if mail.recipient_count == 0:
        raise MailRejected("ErrorInvalidRecipients", "At least one recipient is required, but none were found.")
    if mail.recipient_count > MAIL_RECIPIENTS_PER_MESSAGE:
        raise MailRejected(
            "ErrorTooManyRecipients",
            f"The message exceeds the maximum supported size of {MAIL_RECIPIENTS_PER_MESSAGE} recipients.",
        )
    return mail


def parse_send_mail(payload: object) -> OutgoingMail:
    """Validate a sendMail body (either casing) as Graph does; raise MailRejected if Graph would 400."""
    if not isinstance(payload, dict):
        raise MailRejected("BadRequest", "Empty Payload. JSON content expected.")
    message = field_of(payload, "message")
    if not isinstance(message, dict):
        raise MailRejected("ErrorInvalidRequest", "The message parameter is required.")
    body = field_of(message, "body") or {}
    if not isinstance(body, dict):
        raise MailRejected("BadRequest", "body must be an itemBody.")
    mail = OutgoingMail(
        subject=str(field_of(message, "subject") or ""),
        body={
            "contentType": _enum(field_of(body, "contentType"), BODY_TYPES, "text"),
            "content": str(field_of(body, "content") or ""),
        },
        to=_recipients(message, "toRecipients"),
        cc=_recipients(message, "ccRecipients"),
        bcc=_recipients(message, "bccRecipients"),
        attachments=_attachments(message),
        importance=_enum(field_of(message, "importance"), IMPORTANCE, "normal"),
        save_to_sent_items=_save_to_sent_items(payload),
        extended_properties=_extended_properties(message),
    )
    return _with_recipients(mail)


def parse_mime_mail(raw: bytes) -> OutgoingMail:
    """A sendMail body in MIME format (Content-Type text/plain): the message, base64-encoded."""
    try:
        mime = base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        raise MailRejected("ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.") from None
    parsed = BytesParser(policy=policy.default).parsebytes(mime)

    def recipients(header: str) -> list[dict]:
        found = []
        for name, address in getaddresses(parsed.get_all(header, [])):
            if not ADDRESS.match(address.strip()):
                raise MailRejected(
                    "ErrorInvalidRecipients",
                    f"At least one recipient isn't valid., Recipient '{address}' is not resolved.",
                )
            found.append({"address": address.strip(), "name": name})
        return found

    part = parsed.get_body(preferencelist=("html", "plain"))
    kind = "html" if part is not None and part.get_content_subtype() == "html" else "text"
    mail = OutgoingMail(
        subject=str(parsed.get("Subject") or ""),
        body={"contentType": kind, "content": part.get_content() if part is not None else ""},
        to=recipients("To"),
        cc=recipients("Cc"),
        bcc=recipients("Bcc"),
        attachments=[a.get_filename() or "vedhæftning" for a in parsed.iter_attachments()],
    )
    return _with_recipients(mail)


def mailbox_copies(mail: OutgoingMail, *, sender: str, sender_name: str = "") -> list[tuple[str, dict]]:
    """(lower-cased address, message) for each distinct recipient; bcc is only a flag on one's own copy."""
    message_id = f"<{uuid.uuid4().hex}@m365emulator.local>"
    received_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    to = [r["address"] for r in mail.to]
    cc = [r["address"] for r in mail.cc]
    copies: dict[str, dict] = {}
    for kind, recipients in (("to", mail.to), ("cc", mail.cc), ("bcc", mail.bcc)):
        for recipient in recipients:
            address = recipient["address"].lower()
            if address in copies:
                continue
            copies[address] = {
                "id": str(uuid.uuid4()),
                "message_id": message_id,
                "received_at": received_at,
                "from": sender,
                "from_name": sender_name,
                "subject": mail.subject,
                "body": dict(mail.body),
                "to": list(to),
                "cc": list(cc),
                "bcc": kind == "bcc",
                "attachments": list(mail.attachments),
                "importance": mail.importance,
            }
    return list(copies.items())


def graph_recipients(addresses: list[str]) -> list[dict]:
    return [{"emailAddress": {"address": address, "name": address}} for address in addresses]


def graph_message(message: dict) -> dict:
    """A stored copy as Graph's `message` resource (the fields worth reading)."""
    content = message["body"].get("content", "")
    preview = re.sub(r"<[^>]+>", " ", content) if message["body"].get("contentType") == "html" else content
    sender = {"emailAddress": {"address": message["from"], "name": message.get("from_name") or message["from"]}}
    return {
        "id": message["id"],
        "internetMessageId": message["message_id"],
        "receivedDateTime": message["received_at"],
        "sentDateTime": message["received_at"],
        "subject": message["subject"],
        "bodyPreview": " ".join(preview.split())[:255],
        "body": dict(message["body"]),
        "importance": message.get("importance", "normal"),
        "hasAttachments": bool(message.get("attachments")),
        "isRead": False,
        "from": sender,
        "sender": sender,
        "toRecipients": graph_recipients(message.get("to", [])),
        "ccRecipients": graph_recipients(message.get("cc", [])),
        "bccRecipients": [],
    }
