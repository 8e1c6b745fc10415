"""What a caller sends, read strictly: JSON bodies within a size and depth limit, ids in paths as
bounded whole numbers, and each field of a body as the type it must be.

Malformed input is answered before anything is written, in the API's error shape
``{"fejl": message, "felter": {field: message}}``: a body that is not a JSON object (or nested
too deeply) is 400, one that is too large 413, and fields of the wrong type or range are 422
naming each field, as the domain's own checks answer. An id that no row can have (not a number,
or beyond the 32-bit id columns) is 404, exactly as an id that does not exist. The
``body_limits`` middleware checks every body's depth before anything else runs (the guard, the
Teams endpoint, any handler), so a deeply nested body cannot reach a parser, signed in or not.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Mapping

from aiohttp import web

MAX_BODY = 64 * 1024  # the API's bodies; the application's client_max_size bounds all others
MAX_DEPTH = 32  # arrays and objects inside each other; the API's deepest body needs 4
MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns (SQLite and PostgreSQL alike)
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a time outside these is a typing error, not a plan

INVALID = "Forespørgslen har fejl."
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                     r"(Z|[+-]\d{2}:\d{2})?")


def _dumps(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


def bad_request(message: str) -> web.HTTPBadRequest:
    """The 400 answer for a body that cannot be read at all."""
    return web.HTTPBadRequest(text=_dumps({"fejl": message}), content_type="application/json")


def invalid_fields(fields: Mapping[str, str], message: str = INVALID) -> web.HTTPUnprocessableEntity:
    """The 422 answer naming each malformed field; raise it (also from inside a transaction,
    which then writes nothing)."""
    body: dict[str, Any] = {"fejl": message, "felter": dict(fields)}
    return web.HTTPUnprocessableEntity(text=_dumps(body), content_type="application/json")


def too_large(limit: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit, actual_size=limit + 1,
        text=_dumps({"fejl": f"Forespørgslen er for stor (højst {limit // 1024} kB)."}),
        content_type="application/json")


def nesting_depth(raw: bytes) -> int:
    """How deeply arrays and objects are nested in a JSON text (brackets inside strings do not
    count). Scanned without parsing, so no depth can exhaust the parser's recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _too_deep() -> web.HTTPBadRequest:
    return bad_request(f"Forespørgslen er for dybt indlejret (højst {MAX_DEPTH} niveauer).")


def _storable_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def unstorable(value: object, where: str = "") -> str | None:
    """Where in ``value`` a text cannot be stored ("title", "areas[2]"; "" for the top), or None:
    a lone surrogate (JSON escapes can carry one; SQLite refuses it) or a NUL character
    (PostgreSQL text refuses it)."""
    if isinstance(value, str):
        return None if _storable_text(value) else where
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if not _storable_text(str(key)):
                return where
            found = unstorable(item, name)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


BAD_TEXT = "indeholder tegn, der ikke kan gemmes (ugyldig Unicode eller NUL)"


@web.middleware
async def body_limits(request: web.Request, handler):
    """Before the guard or any handler reads a body: refuse one nested too deeply, and a form
    that cannot be parsed or holds text that cannot be stored (the parsed form is cached by
    aiohttp for the guard and the handler)."""
    if request.method in _UNSAFE and request.body_exists:
        api = request.path.startswith("/api/")
        if request.content_type in _FORM_TYPES:
            try:
                form = await request.post()
            except (ValueError, AssertionError):  # bad encoding, boundary or part (aiohttp)
                form = None
            if form is None or unstorable([str(k) for k in form.keys()] + [
                    v for v in form.values() if isinstance(v, str)]) is not None:
                message = f"Formularen kan ikke læses: den {BAD_TEXT}."
                raise bad_request(message) if api else web.HTTPBadRequest(text=message)
        else:
            raw = await request.read()  # bounded by client_max_size (413); cached
            if nesting_depth(raw) > MAX_DEPTH:
                raise _too_deep() if api else web.HTTPBadRequest(
                    text="Forespørgslen er for dybt indlejret.")
    return await handler(request)


async def json_object(request: web.Request) -> dict:
    """The body as a JSON object, or the 400/413 answer raised."""
    if request.content_length and request.content_length > MAX_BODY:
        raise too_large(MAX_BODY)
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise too_large(MAX_BODY)
    if nesting_depth(raw) > MAX_DEPTH:
        raise _too_deep()
    try:
        data = json.loads(raw or b"null")
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad_request("Forespørgslen er ikke gyldig JSON.") from None
    if not isinstance(data, dict):
        raise bad_request("Forespørgslen skal være et JSON-objekt.")
    where = unstorable(data)
    if where is not None:
        raise invalid_fields({where or "_": BAD_TEXT})
    return data


def whole_id(value: object) -> int | None:
    """An id as a caller wrote it (path or form), or None if no row can have it."""
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def json_id(value: object) -> int | None:
    """An id as a JSON value carries it (a card's data, a body's field): a whole number a row
    can have, or None. True and false, fractions, texts ("12" too), lists and objects are not
    ids."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_ID else None


def path_id(request: web.Request, name: str, missing: str) -> int:
    """The id in the path, or 404 with ``missing`` (the same answer as an id that does not
    exist)."""
    number = whole_id(request.match_info.get(name))
    if number is None:
        raise not_found(request, missing)
    return number


def not_found(request: web.Request, missing: str) -> web.HTTPNotFound:
    """404 as JSON on the API, as text elsewhere."""
    if request.path.startswith("/api/"):
        return web.HTTPNotFound(text=_dumps({"fejl": missing}), content_type="application/json")
    return web.HTTPNotFound(text=missing)


def parse_moment(value: object) -> datetime | None:
    """An ISO 8601 date and time (``2026-03-01T18:30``, seconds and offset optional) between the
    years 2000 and 2100, or None."""
    if not isinstance(value, str) or not _MOMENT.fullmatch(value.strip()):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if FIRST_YEAR <= moment.year <= LAST_YEAR else None


MOMENT_ERROR = "skal være et tidspunkt som 2026-03-01T18:30, mellem år 2000 og 2100"


class Fields:
    """Reads the fields of a JSON object, collecting every malformed one; ``check()`` raises the
    422 naming them all. A field left out gives its default; null is not a value of any type."""

    def __init__(self, data: Mapping):
        self.data, self.errors = data, {}

    def _given(self, name: str) -> bool:
        return name in self.data

    def whole(self, name: str, low: int, high: int, default: int | None = None) -> int | None:
        if not self._given(name):
            return default
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.errors[name] = f"skal være et helt tal mellem {low} og {high}"
            return default
        return value

    def text(self, name: str, default: str = "", longest: int = 4000) -> str:
        if not self._given(name):
            return default
        value = self.data[name]
        if not isinstance(value, str):
            self.errors[name] = "skal være tekst"
            return default
        if len(value) > longest:
            self.errors[name] = f"er for lang (højst {longest} tegn)"
            return default
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        if not self._given(name):
            return default
        value = self.data[name]
        if not isinstance(value, bool):
            self.errors[name] = "skal være true eller false"
            return default
        return value

    def moment(self, name: str) -> datetime | None:
        if not self._given(name):
            return None
        found = parse_moment(self.data[name])
        if found is None:
            self.errors[name] = MOMENT_ERROR
        return found

    def texts(self, name: str) -> list[str]:
        return self._list_of(name, str, "skal være en liste af tekster")

    def objects(self, name: str) -> list[dict]:
        return self._list_of(name, dict, "skal være en liste af objekter")

    def _list_of(self, name: str, kind: type, error: str) -> list:
        if not self._given(name):
            return []
        value = self.data[name]
        if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
            self.errors[name] = error
            return []
        return value

    def object(self, name: str) -> dict | None:
        if not self._given(name):
            return None
        value = self.data[name]
        if not isinstance(value, dict):
            self.errors[name] = "skal være et objekt"
            return None
        return value

    def check(self) -> None:
        if self.errors:
            raise invalid_fields(self.errors)
