"""Helpers for the replica tests: a recording channel, an accepted alert to many people, and
a second engine on the same database (what another replica would have)."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlmodel import Session, select

from handleplaner.directory import queries as directory
from handleplaner.storage import make_engine, transaction
from handleplaner.incidents import activate
from notifications import outbox
from notifications.channels.base import DeliveryResult
from notifications.models import Delivery
from notifications.worker import DeliveryWorker

from tests.conftest import TEST_DATABASE_URL
from tests.service.helpers import noerrebro, secretariat_member, shooting

needs_postgresql = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgres"),
    reason="PostgreSQL only (BEREDSKAB_TEST_DATABASE_URL)")


class RecordingChannel:
    """Answers every call with success after a short pause; remembers who got what."""

    def __init__(self, name: str, sent: list, *, pause: float = 0.002, max_batch: int = 1):
        self.name, self.max_batch, self.sent, self.pause = name, max_batch, sent, pause

    async def send(self, message, recipients):
        await asyncio.sleep(self.pause)
        for r in recipients:
            self.sent.append((message.alert_id, r.person_id, self.name))
        return DeliveryResult(ok=True, status_code=201, provider_message_id=uuid.uuid4().hex)


def alert_everyone(engine) -> int:
    """An incident and one alert to every active person (as bench/fanout.py does); its id."""
    actor = secretariat_member(engine)
    with transaction(engine) as session:
        incident = activate(session, actor_id=actor.id,
                            data=shooting(noerrebro(engine))).incident
        accepted = outbox.enqueue_alert(
            session, incident_id=incident.id, kind="besked", severity="akut", exercise=False,
            title="Alle varsles", body="Test af replikaer", audience=directory.list_people(session),
            actor_id=actor.id, dedupe_key=f"replikaer:{uuid.uuid4().hex}")
        return accepted.alert.id


def queued_pairs(engine) -> set[tuple[int, str, str]]:
    with Session(engine) as session:
        return {(d.alert_id, d.person_id, d.channel) for d in session.exec(select(Delivery))}


def worker(engine, sent: list, **kwargs) -> DeliveryWorker:
    channels = {name: RecordingChannel(name, sent, max_batch=50 if name == "email" else 1)
                for name in ("teams", "email")}
    return DeliveryWorker(engine, channels, limits={}, link_base="http://x", seed=1, **kwargs)


def other_engine(url: str):
    """Another replica's engine on the same database."""
    return make_engine(url)
