"""Several replicas share the outbox: claims never overlap, and together the workers deliver
every (alert, person, channel) exactly once. Two engines on one database stand for two
replicas; on PostgreSQL the claims use FOR UPDATE SKIP LOCKED."""
from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session, select

from handleplaner.clock import utcnow
from handleplaner.storage import is_postgresql
from notifications import lease
from notifications.models import QUEUED, SENT, Delivery

from .common import alert_everyone, other_engine, queued_pairs, worker


def test_concurrent_claims_never_take_the_same_row(demo_database):
    url, engine = demo_database
    alert_everyone(engine)
    with Session(engine) as session:
        queued = set(session.exec(select(Delivery.id).where(Delivery.state == QUEUED)))
    engines = [engine, other_engine(url)]
    start = threading.Barrier(8)

    def claimer(index: int) -> list[list[int]]:
        start.wait()
        claims = []
        while True:
            ids = lease.claim_due(engines[index % 2], Delivery, token=f"t{index}-{len(claims)}",
                                  now=utcnow(), limit=7)
            if not ids:
                return claims
            claims.append(ids)

    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(claimer, range(8)))
    finally:
        engines[1].dispose()
    claimed = [i for claims in results for ids in claims for i in ids]
    assert len(claimed) == len(set(claimed)), "a row was claimed twice"
    assert set(claimed) == queued
    if is_postgresql(engine):  # SQLite takes one writer at a time: one thread may take all
        assert sum(1 for claims in results if claims) > 1  # the work was shared


async def test_two_replicas_deliver_everything_exactly_once(demo_database):
    url, engine = demo_database
    alert_everyone(engine)
    expected = queued_pairs(engine)
    sent: list = []
    second = other_engine(url)
    try:
        a, b = worker(engine, sent, batch_size=25), worker(second, sent, batch_size=25)
        rounds = Counter()

        async def work(name, w):
            while True:
                done = await w.run_once()
                rounds[name] += done
                if not done and not await asyncio.to_thread(w.pending):
                    return

        await asyncio.wait_for(asyncio.gather(work("a", a), work("b", b)), timeout=50)
    finally:
        second.dispose()
    copies = Counter(sent)
    assert set(copies) == expected
    assert [pair for pair, n in copies.items() if n > 1] == []
    if is_postgresql(engine):
        assert rounds["a"] and rounds["b"]  # both replicas delivered
    with Session(engine) as session:
        states = Counter(d.state for d in session.exec(select(Delivery)))
        assert states == {SENT: len(expected)}
        held = session.exec(select(Delivery).where(Delivery.claimed_by.is_not(None))).first()
        assert held is None
