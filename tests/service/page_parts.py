"""Reading a rendered page's form the way a browser would: fields, their values, what is checked
and selected, and what an element's aria-describedby points at (stdlib HTML parser)."""
from __future__ import annotations

from html.parser import HTMLParser


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.texts: dict[str, str] = {}  # id -> text content of elements with an id (flat)
        self.selected: dict[str, list[str]] = {}  # select name -> chosen option values
        self.textareas: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._stack: list[tuple[str, str | None]] = []  # open elements: (tag, id)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        found = {k: (v if v is not None else "") for k, v in attrs}
        self.elements.append((tag, found))
        if tag == "select":
            self._select = found.get("name", "")
            self.selected.setdefault(self._select, [])
        elif tag == "option" and self._select is not None and "selected" in found:
            self.selected[self._select].append(found.get("value", ""))
        elif tag == "textarea":
            self._textarea = found.get("name", "")
            self.textareas[self._textarea] = ""
        if tag not in VOID:
            self._stack.append((tag, found.get("id")))
            if found.get("id"):
                self.texts.setdefault(found["id"], "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                break

    def handle_data(self, data):
        if self._textarea is not None:
            self.textareas[self._textarea] += data
        for _, element_id in self._stack:
            if element_id:
                self.texts[element_id] += data

    # Queries ---------------------------------------------------------------------------------
    def by_id(self, element_id: str) -> dict | None:
        return next((attrs for _, attrs in self.elements if attrs.get("id") == element_id), None)

    def inputs(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.elements if tag == "input" and attrs.get("name") == name]

    def value(self, name: str) -> str:
        (field,) = [f for f in self.inputs(name) if f.get("type") != "hidden"] or self.inputs(name)
        return field.get("value", "")

    def checked(self, name: str) -> set[str]:
        return {f.get("value", "") for f in self.inputs(name) if "checked" in f}

    def hidden(self) -> list[tuple[str, str]]:
        return [(attrs["name"], attrs.get("value", "")) for tag, attrs in self.elements
                if tag == "input" and attrs.get("type") == "hidden" and "name" in attrs]

    def described_error(self, element_id: str) -> str:
        """The text of the error an element points at with aria-describedby, or ''."""
        attrs = self.by_id(element_id) or {}
        for target in attrs.get("aria-describedby", "").split():
            if target.startswith("fejl-"):
                return self.texts.get(target, "").strip()
        return ""

    def links_to(self, target: str) -> bool:
        return any(tag == "a" and attrs.get("href") == f"#{target}" for tag, attrs in self.elements)
