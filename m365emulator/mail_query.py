"""OData query options on a message listing, read as Outlook reads them.

`$top` (1 to 1000, default 10) and `$skip` page the listing; `$select` names message properties
(an unknown name is a 400); `$orderby` sorts, and together with `$filter` it must name the
filter's properties first or Outlook refuses the query as `InefficientFilter`; `$filter` is a
single-value extended property's id with a condition on its value: `eq` or `ne`, `contains` or
`startswith` for a string, or a `cast(ep/value, Edm.Int32)` compared with `eq`, `ne`, `ge`, `gt`,
`le` or `lt`. The Name in the id is matched case-sensitively, the value case-insensitively.
Other filters are refused (the emulator does not evaluate them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .mail import property_key

DEFAULT_TOP = 10
MAX_TOP = 1000
MESSAGE_PROPERTIES = (
    "id", "bccRecipients", "body", "bodyPreview", "categories", "ccRecipients", "changeKey", "conversationId",
    "conversationIndex", "createdDateTime", "flag", "from", "hasAttachments", "importance",
    "inferenceClassification", "internetMessageHeaders", "internetMessageId", "isDeliveryReceiptRequested",
    "isDraft", "isRead", "isReadReceiptRequested", "lastModifiedDateTime", "parentFolderId", "receivedDateTime",
    "replyTo", "sender", "sentDateTime", "subject", "toRecipients", "uniqueBody", "webLink",
    # relationships: may be named, are not expanded
    "attachments", "extensions", "singleValueExtendedProperties", "multiValueExtendedProperties",
)
# What Mail.ReadBasic(.All) may not read.
NOT_BASIC = ("body", "bodyPreview", "uniqueBody")

_LITERAL = r"'((?:[^']|'')*)'"
_FILTER = re.compile(
    r"^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+" + _LITERAL + r"\s+and\s+(.+?)\s*\)\s*$",
    re.IGNORECASE,
)


class QueryRejected(Exception):
    """A 400 from Graph for the query string, with its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class PropertyFilter:
    """`singleValueExtendedProperties/any(ep: ep/id eq '<id>' and <test on ep/value>)`."""

    property_id: str
    operator: str  # eq, ne, contains, startswith, or the numeric ge, gt, le, lt
    operand: str | int
    numeric: bool = False

    def matches(self, properties: dict[str, str]) -> bool:
        wanted = property_key(self.property_id)
        value = next((v for k, v in properties.items() if property_key(k) == wanted), None)
        if value is None:
            return False
        if self.numeric:
            try:
                number = int(value)
            except ValueError:
                return False
            return _compare(number, self.operator, int(self.operand))
        text, operand = value.lower(), str(self.operand).lower()
        if self.operator == "contains":
            return operand in text
        if self.operator == "startswith":
            return text.startswith(operand)
        return _compare(text, self.operator, operand)


def _compare(left, operator: str, right) -> bool:
    return {
        "eq": left == right, "ne": left != right, "ge": left >= right,
        "gt": left > right, "le": left <= right, "lt": left < right,
    }[operator]


def _unquote(literal: str) -> str:
    return literal.replace("''", "'")


def parse_filter(text: str) -> PropertyFilter:
    match = _FILTER.match(text)
    if match is None:
        raise QueryRejected("ErrorInvalidUrlQueryFilter",
                            "The emulator filters messages only on a single-value extended property.")
    var, property_id, test = match.group(1), _unquote(match.group(2)), match.group(3).strip()
    value = rf"{re.escape(var)}/value"
    for pattern, numeric in (
        (rf"^{value}\s+(eq|ne)\s+{_LITERAL}$", False),
        (rf"^(contains|startswith)\(\s*{value}\s*,\s*{_LITERAL}\s*\)$", False),
        (rf"^cast\(\s*{value}\s*,\s*Edm\.Int(?:16|32|64)\s*\)\s+(eq|ne|ge|gt|le|lt)\s+(-?\d+)$", True),
    ):
        found = re.match(pattern, test, re.IGNORECASE)
        if found:
            operand = int(found.group(2)) if numeric else _unquote(found.group(2))
            return PropertyFilter(property_id, found.group(1).lower(), operand, numeric)
    raise QueryRejected("ErrorInvalidUrlQueryFilter",
                        "An extended property's value is compared with eq or ne, contains or startswith "
                        "(a string), or cast to a number and compared with eq, ne, ge, gt, le or lt.")


@dataclass
class MessageQuery:
    top: int = DEFAULT_TOP
    skip: int = 0
    select: list[str] | None = None
    order: list[tuple[str, bool]] | None = None  # (property, descending)
    filter: PropertyFilter | None = None


def _canonical(name: str) -> str:
    found = next((p for p in MESSAGE_PROPERTIES if p.lower() == name.strip().lower()), None)
    if found is None:
        raise QueryRejected("RequestBroker--ParseUri",
                            f"Could not find a property named '{name.strip()}' on type 'microsoft.graph.message'.")
    return found


def parse_query(query) -> MessageQuery:
    """The options of a message listing's query string; QueryRejected as Graph's 400."""
    try:
        top = int(query.get("$top", DEFAULT_TOP))
        skip = int(query.get("$skip", 0))
    except ValueError:
        raise QueryRejected("BadRequest", "Invalid $top or $skip.") from None
    if not 1 <= top <= MAX_TOP or skip < 0:
        raise QueryRejected("BadRequest", f"$top must be between 1 and {MAX_TOP}.")
    parsed = MessageQuery(top=top, skip=skip)
    if query.get("$select"):
        parsed.select = [_canonical(n) for n in query["$select"].split(",") if n.strip()]
    if query.get("$orderby"):
        parsed.order = []
        for clause in query["$orderby"].split(","):
            name, _, direction = clause.strip().partition(" ")
            if direction.strip().lower() not in ("", "asc", "desc"):
                raise QueryRejected("BadRequest", f"Invalid $orderby direction '{direction.strip()}'.")
            parsed.order.append((_canonical(name), direction.strip().lower() == "desc"))
    if query.get("$filter"):
        parsed.filter = parse_filter(query["$filter"])
        if parsed.order:
            # The filter names no message property, so no $orderby can come first in it.
            raise QueryRejected("InefficientFilter", "The restriction or sort order is too complex for this operation.")
    return parsed


def shaped(message: dict, query: MessageQuery, *, basic: bool) -> dict:
    """A message as listed: only `$select`ed properties (and id); without body under Mail.ReadBasic."""
    if query.select:
        message = {k: v for k, v in message.items() if k == "id" or k in query.select}
    if basic:
        message = {k: v for k, v in message.items() if k not in NOT_BASIC}
    return message


def ordered(messages: list[dict], query: MessageQuery) -> list[dict]:
    """Newest first unless `$orderby` says otherwise (a stable sort on each key, last key first)."""
    if not query.order:
        return messages
    result = list(messages)
    for name, descending in reversed(query.order):
        result.sort(key=lambda m: str(m.get(name) or ""), reverse=descending)
    return result
