"""A replica killed (SIGKILL) in the middle of a batch: the calls it had made stay made, the
rows it had claimed but not tried come back when its lease runs out, and another worker
delivers them. Calls Microsoft had accepted when the replica died (their receipt written, the
outcome not) are written down as sent, not sent again. In the end every (alert, person,
channel) was delivered exactly once.

The recording channel here cannot be read back, so a kill in the instant between Microsoft's
answer and the receipt's commit would send that row again; test_read_back.py shows the read-back
from Microsoft that prevents it, and bench/crash.py measures the whole."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from handleplaner.record import RecordEntry
from notifications.lease import ANSWERED
from notifications.models import FAILED, QUEUED, SENT, Delivery, DeliveryAttempt

from .common import alert_everyone, queued_pairs, worker

ROOT = Path(__file__).resolve().parents[2]
STOP_AFTER = 40
LEASE_SECONDS = 2.0


def count(engine, *conditions) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Delivery).where(*conditions)).one()


@pytest.mark.parametrize("moment", ["between-calls", "after-answer"])
async def test_killed_worker_leaves_its_rows_to_the_next_and_nothing_is_sent_twice(
        demo_database, tmp_path, moment):
    url, engine = demo_database
    alert_everyone(engine)
    expected = queued_pairs(engine)
    log_file = tmp_path / "provider.jsonl"
    doomed = subprocess.Popen(
        [sys.executable, "-m", "tests.replicas.doomed_worker", url, str(log_file),
         str(STOP_AFTER), str(LEASE_SECONDS), moment], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        # Kill it mid-batch, once the calls it made are settled and the rest hang in flight.
        deadline = time.monotonic() + 40
        while True:
            assert doomed.poll() is None, doomed.stderr.read().decode()
            assert time.monotonic() < deadline, "the doomed worker did not get going"
            made = len(log_file.read_text().splitlines()) if log_file.exists() else 0
            written = count(engine, Delivery.state == SENT) if moment == "between-calls" else count(
                engine, Delivery.claimed_by.startswith(ANSWERED))
            if made >= STOP_AFTER and written == made:
                break
            await asyncio.sleep(0.05)
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
    made = len(log_file.read_text().splitlines())
    held = count(engine, Delivery.state == QUEUED, Delivery.claimed_by.is_not(None))
    assert 0 < made < len(expected) and held > made  # killed with untried rows under its lease
    if moment == "after-answer":  # accepted by Microsoft, outcome not written
        assert count(engine, Delivery.state == SENT) == 0

    with Session(engine) as session:
        held_until = {d.id: d.claimed_until for d in session.exec(select(Delivery).where(
            Delivery.state == QUEUED, Delivery.claimed_by.is_not(None),
            Delivery.claimed_by.not_like(ANSWERED + "%")))}

    # The next worker (another replica, or this one restarted) waits out the lease and finishes.
    sent: list = []
    await worker(engine, sent).run_until_idle(timeout=30)
    with Session(engine) as session:
        tried_at = {a.delivery_id: a.at for a in session.exec(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id.in_(held_until)))}
    assert held_until and all(tried_at[i] > until for i, until in held_until.items())

    provider = [tuple(json.loads(line)) for line in log_file.read_text().splitlines()]
    copies = Counter(provider + sent)
    assert set(copies) == expected
    assert [pair for pair, n in copies.items() if n > 1] == []
    assert count(engine, Delivery.state == FAILED) == 0
    assert count(engine, Delivery.state == SENT) == len(expected)
    assert count(engine, Delivery.attempts != 1) == 0  # nothing was tried twice
    if moment == "after-answer":
        with Session(engine) as session:
            entries = session.exec(select(RecordEntry).where(
                RecordEntry.action == "varsel.leveret",
                RecordEntry.summary.contains("efter en genstart"))).all()
        assert len(entries) == made
