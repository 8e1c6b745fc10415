"""Property names in a Graph request body: a name the type does not define is refused.

Graph's types are not open: the resource type pages (resources/message, resources/event) list the
properties a body may carry, and a name outside the list is 400 RequestBodyRead ("The property
'...' does not exist on type '...'"); an action's body may carry only the action's parameters
(user-sendmail, "Request body": `message`, `saveToSentItems`). Names match without regard to case
(msgraph-sdk writes `Message`), and OData annotations (`@odata.type`, ...) are always allowed.
Only the top level of a body is checked; nested types are read by their own parsers.
"""

from __future__ import annotations

OPEN_TYPE_HINT = "Make sure to only use property names that are defined by the type or mark the type as open type."


class UnknownName(Exception):
    """A name the body's type does not define; the message is Graph's."""

    code = "RequestBodyRead"


def _unknown(data: dict, known: tuple[str, ...]) -> str | None:
    lowered = {name.lower() for name in known}
    return next((key for key in data if isinstance(key, str) and not key.startswith("@")
                 and "@" not in key and key.lower() not in lowered), None)


def check_properties(data: dict, known: tuple[str, ...], type_name: str) -> None:
    """UnknownName for the first property of `data` that `type_name` does not define."""
    name = _unknown(data, known)
    if name is not None:
        raise UnknownName(f"The property '{name}' does not exist on type '{type_name}'. {OPEN_TYPE_HINT}")


def check_parameters(data: dict, known: tuple[str, ...], action: str) -> None:
    """UnknownName for the first parameter of `data` that the action does not take."""
    name = _unknown(data, known)
    if name is not None:
        raise UnknownName(f"The parameter '{name}' in the request payload is not a valid parameter for the "
                          f"operation '{action}'.")
