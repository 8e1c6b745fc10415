"""Safe YAML loading that remembers the line of every value, for error messages a person can act on."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path = tuple  # e.g. ("people", 3, "email")

# libyaml's parser when PyYAML was built with it (much faster); it gives the same marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Located:
    """Plain Python values from a YAML document, with 1-based lines per path."""

    value: Any
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[tuple[Path, int, str]] = field(default_factory=list)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def load_located(text: str) -> Located:
    """Parse one YAML document with the safe loader; raise ``yaml.MarkedYAMLError`` on bad syntax.

    Duplicate mapping keys, which YAML would silently collapse, are reported in ``problems``.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        located = Located(value=None)
        if node is not None:
            located.value = _Walker(loader, located).walk(node, ())
        return located
    finally:
        loader.dispose()


class _Walker:
    def __init__(self, loader: Any, located: Located) -> None:
        self.loader = loader
        self.located = located
        self.stack: set[int] = set()

    def walk(self, node: Node, path: Path) -> Any:
        line = node.start_mark.line + 1
        self.located.lines.setdefault(path, line)
        if id(node) in self.stack:
            self.located.problems.append((path, line, "en YAML-reference peger på sig selv"))
            return None
        if isinstance(node, ScalarNode):
            return self.loader.construct_object(node, deep=True)
        self.stack.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.walk(item, path + (i,)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            return None  # pragma: no cover - the composer makes no other node kinds
        finally:
            self.stack.discard(id(node))

    def _mapping(self, node: MappingNode, path: Path) -> dict:
        self.loader.flatten_mapping(node)  # resolve "<<" merge keys
        result: dict = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                self.located.problems.append((path, key_line, "en nøgle skal være tekst"))
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                key = str(key)
            if key in result:
                first = self.located.lines.get(path + (key,))
                where = f" (første gang i linje {first})" if first else ""
                self.located.problems.append(
                    (path + (key,), key_line, f'nøglen "{key}" står flere gange{where}'))
                continue
            self.located.lines[path + (key,)] = key_line
            value = self.walk(value_node, path + (key,))
            # A value on its own line(s) (a nested block) is still reported at the key's line.
            self.located.lines[path + (key,)] = key_line
            result[key] = value
        return result
