"""Headless Chromium (Debian's `chromium` package) driven by Playwright, against the running
service (the `service` fixture: a real HTTP server on 127.0.0.1 wired to the emulator).

scripts/run_tests.py installs Chromium if it is missing and runs these tests once, in the SQLite
run: they test what a person sees in the browser, not the database. BEREDSKAB_CHROMIUM names
another Chromium; BEREDSKAB_BROWSER_SKIP=<reason> skips them. A missing Chromium skips them,
except with CI=true, where it fails.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("BEREDSKAB_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("BEREDSKAB_SCREENSHOTS",
                                  Path(__file__).resolve().parents[2] / "var" / "screenshots"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Browsertestene kan ikke køre: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
async def browser():
    """A headless Chromium; closed after the test (before the service stops)."""
    if os.environ.get("BEREDSKAB_BROWSER_SKIP"):
        pytest.skip(os.environ["BEREDSKAB_BROWSER_SKIP"])
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} findes ikke (./dev test installerer Debians chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright er ikke installeret (pip install -e '.[test]')")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nSkærmbilleder: {SCREENSHOTS}")
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"Skærmbilleder fra browsertestene: {SCREENSHOTS}")
