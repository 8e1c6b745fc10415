"""Shared fixtures: a migrated database (SQLite or PostgreSQL), the demo organisation, the
emulator and the running service.

The database comes from BEREDSKAB_TEST_DATABASE_URL (default: a SQLite file per test, copied
from a migrated template). On PostgreSQL the schema is rebuilt once per run and every table is
emptied before each test. With CI=true a PostgreSQL URL that cannot be reached fails the run.
"""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from handleplaner.directory import DEMO_ORGANISATION, import_directory_file
from handleplaner.storage import make_engine, upgrade_database

TEST_DATABASE_URL = os.environ.get("BEREDSKAB_TEST_DATABASE_URL", "sqlite")
DIRECTORY_TABLES = ("directory_membership", "directory_group_area", "directory_group",
                    "directory_person", "directory_area", "directory_authority")


def pytest_report_header(config):
    return f"database: {TEST_DATABASE_URL}"


def _reset_postgresql(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    except Exception as error:  # pragma: no cover - depends on the machine
        message = f"PostgreSQL at {url} is not reachable: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.exit(message, returncode=3)
        raise
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory) -> dict:
    """Migrate once per run: a template SQLite file (with and without the demo organisation)
    or the PostgreSQL database itself."""
    if TEST_DATABASE_URL == "sqlite":
        folder = tmp_path_factory.mktemp("db")
        empty, demo = folder / "empty.db", folder / "demo.db"
        upgrade_database(f"sqlite:///{empty}")
        shutil.copy(empty, demo)
        engine = make_engine(f"sqlite:///{demo}")
        import_directory_file(engine, DEMO_ORGANISATION)
        engine.dispose()
        return {"kind": "sqlite", "empty": empty, "demo": demo}
    _reset_postgresql(TEST_DATABASE_URL)
    upgrade_database(TEST_DATABASE_URL)
    return {"kind": "postgresql", "url": TEST_DATABASE_URL, "directory_loaded": False}


def _fresh(template: dict, tmp_path: Path, *, demo: bool):
    if template["kind"] == "sqlite":
        target = tmp_path / "beredskab.db"
        shutil.copy(template["demo" if demo else "empty"], target)
        return f"sqlite:///{target}", make_engine(f"sqlite:///{target}")
    url = template["url"]
    engine = make_engine(url)
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    keep = set(DIRECTORY_TABLES) if demo and template["directory_loaded"] else set()
    with engine.begin() as connection:
        doomed = [t for t in tables if t not in keep]
        if doomed:
            connection.execute(text(f"TRUNCATE {', '.join(doomed)} RESTART IDENTITY CASCADE"))
    if demo and not template["directory_loaded"]:
        import_directory_file(engine, DEMO_ORGANISATION)
        template["directory_loaded"] = True
    elif not demo:
        template["directory_loaded"] = False
    return url, engine


@pytest.fixture
def empty_database(database_template, tmp_path):
    """(url, engine) of a migrated, empty database."""
    url, engine = _fresh(database_template, tmp_path, demo=False)
    yield url, engine
    engine.dispose()


@pytest.fixture
def demo_database(database_template, tmp_path):
    """(url, engine) of a migrated database holding the demo organisation."""
    url, engine = _fresh(database_template, tmp_path, demo=True)
    yield url, engine
    engine.dispose()


@pytest.fixture
def engine(demo_database):
    return demo_database[1]


@pytest.fixture(autouse=True)
def anchor_file(tmp_path, monkeypatch) -> Path:
    """The record's anchors (and demo mode's signing key) in the test's own folder, never in the
    checkout's var/."""
    path = tmp_path / "ankre" / "record-anchors.jsonl"
    monkeypatch.setenv("BEREDSKAB_RECORD_ANCHOR_FILE", str(path))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def emulator(tmp_path):
    from m365emulator import EmulatorConfig, start_emulator

    emulator, runner = await start_emulator(EmulatorConfig(record_dir=tmp_path / "records", seed=1,
                                                                   smtp_port=0))
    emulator.runner = runner
    yield emulator
    await runner.cleanup()


@pytest.fixture
async def service(emulator, demo_database):
    """The running service (its own HTTP server) wired to the emulator; yields a `Running`."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from bot.entra_sign_in import CALLBACK_PATH
    from bot.keys import SERVICES
    from bot.serve import emulator_people
    from bot.services import demo_settings

    url, engine = demo_database
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = demo_settings(emulator.base_url, public_url=base, database_url=url,
                             worker_poll_seconds=0.05, smtp_port=emulator.smtp_port)
    app = create_app(settings, start_worker=False)
    server = TestServer(app, host="127.0.0.1", port=port)
    client = TestClient(server)
    await client.start_server()
    emulator.config.bot_endpoint = f"{base}/api/messages"
    emulator.config.redirect_uris = [f"{base}{CALLBACK_PATH}"]
    emulator.config.people = emulator_people(engine)
    running = Running(client=client, services=app[SERVICES], emulator=emulator, base=base)
    running.emulator_runner = emulator.runner
    yield running
    await client.close()


class Running:
    def __init__(self, *, client, services, emulator, base):
        self.client, self.services, self.emulator, self.base = client, services, emulator, base

    @property
    def engine(self):
        return self.services.engine


def pytest_terminal_summary(terminalreporter):
    """What the door table covered (tests/service/test_door_table.py), in every run's summary."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(report, "user_properties", ()):
                if name == "door table":
                    terminalreporter.write_line(value)
