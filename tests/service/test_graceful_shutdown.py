"""Graceful shutdown: `beredskab serve` (a process of its own, production settings against the
emulator) gets SIGTERM in the middle of a fan-out. It exits 0 within its bound, having finished
the calls in flight and handed back the rest; after a restart every recipient has the alert
exactly once per channel, and the database agrees."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import Session, func, select

from bot.serve import emulator_people
from bot.services import demo_settings
from handleplaner.directory import queries as directory
from handleplaner.incidents import activate
from handleplaner.storage import transaction
from m365emulator import EmulatorConfig, start_emulator
from notifications import outbox
from notifications.models import QUEUED, SENT, Delivery, DeliveryAttempt
from tests.conftest import free_port

from .helpers import secretariat_member, shooting

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = 150
SHUTDOWN_SECONDS = 15


@pytest.fixture
async def slow_emulator(tmp_path):
    """The emulator outlives the service (as Microsoft does), with realistic latency."""
    emulator, runner = await start_emulator(EmulatorConfig(latency_ms=(40, 120), seed=2))
    yield emulator
    await runner.cleanup()


def environment(emulator, database_url: str, port: int) -> dict:
    settings = demo_settings(emulator.base_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEREDSKAB_")}
    env.update({
        "BEREDSKAB_DATABASE_URL": database_url,
        "BEREDSKAB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "BEREDSKAB_SESSION_SECRET": uuid.uuid4().hex * 2,
        "BEREDSKAB_TENANT_ID": settings.tenant_id,
        "BEREDSKAB_BOT_APP_ID": settings.bot_app_id,
        "BEREDSKAB_BOT_APP_SECRET": settings.bot_app_secret,
        "BEREDSKAB_TOKEN_URL": settings.token_url,
        "BEREDSKAB_GRAPH_BASE_URL": settings.graph_base_url,
        "BEREDSKAB_CONNECTOR_URL": settings.connector_url,
        "BEREDSKAB_BOT_OPENID_METADATA_URL": settings.bot_openid_metadata_url,
        "BEREDSKAB_WORKER_POLL_SECONDS": "0.1",
        "BEREDSKAB_SHUTDOWN_SECONDS": str(SHUTDOWN_SECONDS),
        "BEREDSKAB_LOG_FORMAT": "json",
    })
    return env


class Replica:
    def __init__(self, env: dict, port: int, log: Path, *arguments: str):
        self.port, self.log = port, log
        self.stderr = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port), *arguments], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=self.stderr)

    async def ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"not ready in {timeout} s:\n{self.log.read_text()}")

    async def terminate(self) -> tuple[int, float]:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        deadline = started + SHUTDOWN_SECONDS + 10
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stderr.close()
        return self.process.returncode, time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stderr.close()


def accept_alert(engine) -> tuple[int, str]:
    """An Akut alert to 150 people (Teams and email), accepted as the service accepts one."""
    actor = secretariat_member(engine)
    with transaction(engine) as session:
        incident = activate(session, actor_id=actor.id,
                            data=shooting([], whole_city=True, title="Nedlukningsprøve")).incident
        audience = directory.list_people(session)[:AUDIENCE]
        accepted = outbox.enqueue_alert(
            session, incident_id=incident.id, kind="aktivering", severity="akut", exercise=True,
            title="Prøve: varsel under nedlukning", body="Prøve", audience=audience,
            actor_id=actor.id, dedupe_key=f"nedlukning:{uuid.uuid4().hex}")
        return accepted.alert.id, incident.reference


def states(engine, alert_id: int) -> Counter:
    with Session(engine) as session:
        return Counter(session.exec(select(Delivery.state).where(Delivery.alert_id == alert_id)))


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_sigterm_mid_fan_out_loses_and_repeats_nothing(slow_emulator, demo_database,
                                                            tmp_path):
    url, engine = demo_database
    port = free_port()
    slow_emulator.config.bot_endpoint = f"http://127.0.0.1:{port}/api/messages"
    slow_emulator.config.people = emulator_people(engine)
    env = environment(slow_emulator, url, port)
    log = tmp_path / "serve.log"

    first = Replica(env, port, log)
    try:
        await first.ready()
        alert_id, reference = accept_alert(engine)
        await wait_for(lambda: states(engine, alert_id)[SENT] >= 20, 30, "the first deliveries")
        returncode, _ = await first.terminate()
    finally:
        first.kill()
    assert returncode == 0, log.read_text()  # 1 if the stop overran BEREDSKAB_SHUTDOWN_SECONDS
    after_stop = states(engine, alert_id)
    assert after_stop[QUEUED] > 0, "the fan-out ended before the stop; nothing was tested"
    with Session(engine) as session:  # handed back: a restart takes them at once
        held = session.exec(select(func.count()).select_from(Delivery).where(
            Delivery.alert_id == alert_id, Delivery.state == QUEUED,
            Delivery.claimed_by.is_not(None))).one()
    assert held == 0

    second = Replica(env, port, log)
    try:
        await second.ready()
        await wait_for(lambda: states(engine, alert_id)[QUEUED] == 0, 40, "the rest")
        returncode, _ = await second.terminate()
    finally:
        second.kill()
    assert returncode == 0

    with Session(engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.alert_id == alert_id)))
        sent_attempts = Counter(session.exec(
            select(DeliveryAttempt.delivery_id).where(
                DeliveryAttempt.delivery_id.in_([d.id for d in rows]),
                DeliveryAttempt.outcome == "sendt")))
        people = {p.id: p for p in directory.list_people(session)}
    assert {d.state for d in rows} == {SENT}
    assert all(sent_attempts[d.id] == 1 for d in rows)
    # What the recipients got, by Microsoft's account: one copy each, per channel.
    for d in rows:
        person = people[d.person_id]
        if d.channel == "teams":
            chat = [e for e in slow_emulator.chats.get(person.teams_user_id, [])
                    if not e.get("deleted")]
            assert len(chat) == 1, (person.id, "teams", len(chat))
        else:
            mails = slow_emulator.mailboxes.get(person.email.lower(), [])
            assert len(mails) == 1, (person.id, d.channel, len(mails))

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert messages.count("stopped") == 2
    assert any(line.get("delivery_id") and line.get("incident_id") for line in lines)


async def test_the_demo_stops_cleanly_on_sigterm(tmp_path):
    """`beredskab serve --demo` (SQLite, its own emulator): ready, then SIGTERM exits 0, with
    text log lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEREDSKAB_")}
    env["BEREDSKAB_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    port, emulator_port = free_port(), free_port()
    log = tmp_path / "demo.log"
    replica = Replica(env, port, log, "--demo", "--emulator-port", str(emulator_port))
    try:
        await replica.ready(timeout=50)
        returncode, _ = await replica.terminate()
    finally:
        replica.kill()
    assert returncode == 0, log.read_text()
    text = log.read_text()
    assert "INFO bot.serve: stopped" in text and not text.lstrip().startswith("{")
