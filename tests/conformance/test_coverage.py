"""Every Microsoft route the emulator serves is in docs/microsoft-conformance.md, with the
conformance tests that check it, and those tests exist.

The emulator's routes are read from its aiohttp router (`create_emulator_app`); its operations
(`/_emulator/...`) are not Microsoft's and are left out. Each remaining route must be a row of the
document's Microsoft table, naming at least one `test_<family>.py::test_<name>` in
tests/conformance/, or a row of its table of the emulator's own pages. A row for a route the
emulator no longer serves fails too, so the table cannot rot.

Documentation checked against: the rule is the project's ("an emulator that accepts what the
real service refuses hides bugs"); each named test cites its own learn.microsoft.com page.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from m365emulator import Emulator, EmulatorConfig, create_emulator_app

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "microsoft-conformance.md"
CONFORMANCE = Path(__file__).resolve().parent
ROW = re.compile(r"^\|\s*`(?P<method>[A-Z]+) (?P<path>/[^`]*)`\s*\|(?P<rest>.*)$")
TEST = re.compile(r"`(test_[a-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)`")
OWN_PAGES_HEADING = "## The emulator's own pages"


def served_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the emulator serves, but its own `/_emulator` operations."""
    app = create_emulator_app(Emulator(EmulatorConfig()))
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical
        if route.method == "HEAD" or path == "/_emulator" or path.startswith("/_emulator/"):
            continue  # aiohttp adds HEAD to every GET
        routes.add((route.method, path))
    return routes


def document_rows() -> tuple[dict[tuple[str, str], list[tuple[str, str]]], set[tuple[str, str]]]:
    """The Microsoft table (route -> its named tests) and the routes of the own-pages table."""
    microsoft: dict[tuple[str, str], list[tuple[str, str]]] = {}
    own: set[tuple[str, str]] = set()
    in_own = False
    for line in DOCUMENT.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_own = line.startswith(OWN_PAGES_HEADING)
        match = ROW.match(line)
        if match is None:
            continue
        route = (match["method"], match["path"])
        assert route not in microsoft and route not in own, f"{route} has two rows"
        if in_own:
            own.add(route)
        else:
            microsoft[route] = TEST.findall(match["rest"])
    return microsoft, own


def functions_in(file_name: str) -> set[str]:
    tree = ast.parse((CONFORMANCE / file_name).read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")}


def test_every_microsoft_route_the_emulator_serves_has_a_row():
    microsoft, own = document_rows()
    missing = sorted(served_routes() - set(microsoft) - own)
    assert not missing, f"routes with no row in {DOCUMENT.name} (add the row and a conformance test): {missing}"


def test_every_row_is_a_route_the_emulator_serves():
    microsoft, own = document_rows()
    assert len(microsoft) >= 20 and own, "the document's tables were not read"
    stale = sorted((set(microsoft) | own) - served_routes())
    assert not stale, f"rows in {DOCUMENT.name} for routes the emulator does not serve: {stale}"


def test_every_microsoft_row_names_conformance_tests_that_exist():
    microsoft, _ = document_rows()
    problems = []
    for route, tests in sorted(microsoft.items()):
        if not tests:
            problems.append(f"{route}: no test named")
        for file_name, name in tests:
            if not (CONFORMANCE / file_name).is_file():
                problems.append(f"{route}: {file_name} does not exist")
            elif name not in functions_in(file_name):
                problems.append(f"{route}: {file_name}::{name} does not exist")
    assert not problems, "\n".join(problems)


def test_every_conformance_file_is_named_in_the_table():
    """A family file no row names is a family the table forgot."""
    microsoft, _ = document_rows()
    named = {file_name for tests in microsoft.values() for file_name, _ in tests}
    files = {p.name for p in CONFORMANCE.glob("test_*.py")} - {Path(__file__).name}
    assert files <= named, f"conformance files the table does not name: {sorted(files - named)}"
