"""The OData query options Graph's Teams chat endpoints take, read as Graph reads them.

"List messages in a chat" (https://learn.microsoft.com/en-us/graph/api/chat-list-messages,
"Optional query parameters"):

- `$top`: at most 50 a page. Graph answers more with 400 and "The limit of '50' for Top query
  has been exceeded" (its wording for the Teams listings, as reported in
  microsoftgraph/msgraph-sdk-powershell issues 874 and 1248). Without `$top` a page holds 20
  messages (Microsoft's answer in microsoftgraph/microsoft-graph-docs issue 7620).
- `$orderby`: `lastModifiedDateTime` (the default) or `createdDateTime`, descending only; ascending
  (`asc`, or no direction, which OData reads as ascending) is not supported.
- `$filter`: a date range; `lastModifiedDateTime` takes `gt` and `lt`, `createdDateTime` only
  `lt`. Any other property or operator is refused with 400 "The entity property '…' and
  operationKind '…' is not allowed in $filter query." (Graph's wording, as reported in
  microsoftgraph/microsoft-graph-docs issue 20146). The filter applies only when `$orderby`
  names the same property; otherwise Graph ignores it.
- "The other OData query parameters are not currently supported": Graph refuses them with
  "Query option '…' is not allowed" (its answer on this endpoint, as reported in
  microsoftgraph/msgraph-sdk-powershell issue 1253).

"List apps installed for user" (https://learn.microsoft.com/en-us/graph/api/userteamwork-list-installedapps)
takes `$expand` of the installation's navigation properties (`teamsApp`, `teamsAppDefinition`
with its own `bot`, `chat`); an unknown one is refused as OData refuses it ("Could not find a
property named '…'").

OData option names are matched without regard to case (`$orderBy` in Microsoft's own example).
Each parser returns its value, or a `QueryRefusal` for the route to answer with.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Mapping

MAX_TOP, DEFAULT_TOP = 50, 20
ORDER_FIELDS = ("lastModifiedDateTime", "createdDateTime")
DEFAULT_ORDER = "lastModifiedDateTime"
# The operators each property takes in $filter.
FILTER_OPERATORS = {"lastModifiedDateTime": ("gt", "lt"), "createdDateTime": ("lt",)}
OPERATION_KIND = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
                  "lt": "LessThan", "le": "LessThanOrEqual"}
MESSAGE_OPTIONS = frozenset({"$top", "$orderby", "$filter", "$skiptoken"})
CONDITION = re.compile(r"^\s*([A-Za-z][\w/]*)\s+(eq|ne|gt|ge|lt|le)\s+(\S+)\s*$")
QUERY_NOT_VALID = "The query specified in the URI is not valid."

# Navigation properties of userScopeTeamsAppInstallation and, under teamsAppDefinition, of
# teamsAppDefinition (https://learn.microsoft.com/en-us/graph/api/resources/userscopeteamsappinstallation,
# https://learn.microsoft.com/en-us/graph/api/resources/teamsappdefinition, "Relationships").
INSTALLATION_NAVIGATION = frozenset({"teamsApp", "teamsAppDefinition", "chat"})
DEFINITION_NAVIGATION = frozenset({"bot", "colorIcon", "outlineIcon"})


@dataclass(frozen=True)
class QueryRefusal:
    """What Graph answers a query it does not take: status, error code and message."""

    status: int
    code: str
    message: str


@dataclass(frozen=True)
class MessageQuery:
    """A chat-message listing as Graph will run it."""

    top: int
    order_field: str
    conditions: tuple[tuple[str, dt.datetime], ...]  # (operator, bound) on order_field; () if none or ignored


def options(query: Mapping[str, str]) -> dict[str, str]:
    """The OData system query options of a query string, by lower-case name (`$orderby`)."""
    return {key.lower(): value for key, value in query.items() if key.startswith("$")}


def moment(text: str) -> dt.datetime | None:
    """An OData DateTimeOffset literal (`2022-09-22T00:00:00.000Z`), aware; None if it is not one."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})", text):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _bad(message: str) -> QueryRefusal:
    return QueryRefusal(400, "BadRequest", message)


def _top(value: str | None) -> int | QueryRefusal:
    if value is None:
        return DEFAULT_TOP
    if not re.fullmatch(r"\d+", value.strip()):
        return _bad(f"{QUERY_NOT_VALID} Invalid value '{value}' for $top query option found.")
    top = int(value)
    if top > MAX_TOP:
        return _bad(f"{QUERY_NOT_VALID} The limit of '{MAX_TOP}' for Top query has been exceeded. "
                    f"The value from the incoming request is '{top}'.")
    if top < 1:
        return _bad(f"{QUERY_NOT_VALID} Invalid value '{value}' for $top query option found.")
    return top


def _order(value: str | None) -> str | QueryRefusal:
    if value is None:
        return DEFAULT_ORDER
    parts = value.split()
    if len(parts) == 2 and parts[0] in ORDER_FIELDS and parts[1].lower() == "desc":
        return parts[0]
    if parts and parts[0] in ORDER_FIELDS:
        return _bad(f"$orderby '{value}' is not supported: the ascending order is currently not supported.")
    return _bad(f"$orderby '{value}' is not supported: use lastModifiedDateTime desc or createdDateTime desc.")


def _conditions(value: str) -> list[tuple[str, str, dt.datetime]] | QueryRefusal:
    conditions = []
    for part in re.split(r"\s+and\s+", value.strip()):
        match = CONDITION.match(part)
        if match is None:
            return _bad("Invalid filter clause")
        field, operator, literal = match.groups()
        if operator not in FILTER_OPERATORS.get(field, ()):
            return _bad(f"The entity property '{field}' and operationKind '{OPERATION_KIND[operator]}' "
                        "is not allowed in $filter query.")
        bound = moment(literal)
        if bound is None:
            return _bad("Invalid filter clause")
        conditions.append((field, operator, bound))
    return conditions


def message_query(query: Mapping[str, str]) -> MessageQuery | QueryRefusal:
    """The listing `GET /chats/{id}/messages?…` asks for, or why Graph refuses it."""
    given = options(query)
    for name in given:
        if name not in MESSAGE_OPTIONS:
            option = name[1:].capitalize()
            return _bad(f"{QUERY_NOT_VALID} Query option '{option}' is not allowed. To allow it, set the "
                        "'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.")
    top = _top(given.get("$top"))
    if isinstance(top, QueryRefusal):
        return top
    order_field = _order(given.get("$orderby"))
    if isinstance(order_field, QueryRefusal):
        return order_field
    conditions: tuple[tuple[str, dt.datetime], ...] = ()
    if given.get("$filter", "").strip():
        parsed = _conditions(given["$filter"])
        if isinstance(parsed, QueryRefusal):
            return parsed
        # Applied only with an explicit $orderby on the same property; otherwise ignored.
        if "$orderby" in given and all(field == order_field for field, _, _ in parsed):
            conditions = tuple((operator, bound) for _, operator, bound in parsed)
    return MessageQuery(top=top, order_field=order_field, conditions=conditions)


def kept(value: dt.datetime, conditions: tuple[tuple[str, dt.datetime], ...]) -> bool:
    return all(value > bound if operator == "gt" else value < bound for operator, bound in conditions)


def _split_top_level(text: str) -> list[str] | None:
    """`a,b($expand=c),d` -> ['a', 'b($expand=c)', 'd']; None if the parentheses do not match."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return None
        elif char == "," and depth == 0:
            items.append(text[start:index].strip())
            start = index + 1
    if depth:
        return None
    items.append(text[start:].strip())
    return items


def _expand_items(text: str, allowed: frozenset[str], type_name: str,
                  nested: dict[str, tuple[frozenset[str], str]]) -> dict[str, dict] | QueryRefusal:
    items = _split_top_level(text)
    if items is None or "" in items:
        return _bad(f"{QUERY_NOT_VALID} Syntax error in $expand '{text}'.")
    expanded: dict[str, dict] = {}
    for item in items:
        match = re.fullmatch(r"([A-Za-z]\w*)(?:\((.*)\))?", item, flags=re.S)
        if match is None:
            return _bad(f"{QUERY_NOT_VALID} Syntax error in $expand '{text}'.")
        name, inner = match.group(1), match.group(2)
        if name not in allowed:
            return _bad(f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")
        children: dict[str, dict] = {}
        if inner is not None:
            sub = re.fullmatch(r"\s*\$expand\s*=\s*(.+)", inner, flags=re.S | re.I)
            if sub is None or name not in nested:
                return _bad(f"{QUERY_NOT_VALID} Syntax error in $expand '{text}'.")
            child_allowed, child_type = nested[name]
            children = _expand_items(sub.group(1), child_allowed, child_type, {})
            if isinstance(children, QueryRefusal):
                return children
        expanded[name] = children
    return expanded


def installation_expand(query: Mapping[str, str]) -> dict[str, dict] | QueryRefusal:
    """`$expand` of installed apps as a tree (`{"teamsAppDefinition": {"bot": {}}}`), or the refusal."""
    text = options(query).get("$expand", "").strip()
    if not text:
        return {}
    return _expand_items(text, INSTALLATION_NAVIGATION, "userScopeTeamsAppInstallation",
                         {"teamsAppDefinition": (DEFINITION_NAVIGATION, "teamsAppDefinition")})


def selected(query: Mapping[str, str], properties: frozenset[str], type_name: str) -> frozenset[str] | None | QueryRefusal:
    """The properties `$select` names (None: all of them), or the refusal of an unknown one."""
    text = options(query).get("$select", "").strip()
    if not text:
        return None
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in properties:
            return _bad(f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")
    return frozenset(names)


def installation_filter(query: Mapping[str, str]) -> tuple[str, str] | None | QueryRefusal:
    """`$filter` of installed apps as (property path, value) for the `eq` comparisons the emulator
    models (`teamsApp/externalId`, as in Microsoft's example, and `teamsApp/id`); None if none."""
    text = options(query).get("$filter", "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(teamsApp/externalId|teamsApp/id)\s+eq\s+'([^']*)'", text)
    if match is None:
        return QueryRefusal(501, "NotImplemented", f"The emulator does not model the $filter '{text}'.")
    return match.group(1), match.group(2)
