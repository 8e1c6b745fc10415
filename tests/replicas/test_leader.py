"""The scheduled jobs run on one replica: the leader, holding a PostgreSQL advisory lock on a
connection of its own. When that connection dies the other replica takes over within seconds,
and no job runs on both. A paused follower's scheduler still stores new jobs in the shared job
store, and the leader runs them, once."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text

from bot.leader import Leadership, guarded
from bot.services import lead_scheduler
from handleplaner.storage import make_engine, normalise_url

from .common import needs_postgresql

RUNS: list[tuple[str, float]] = []


async def note_run(tag: str) -> None:
    """A job kept in the shared job store (found there by its textual reference)."""
    RUNS.append((tag, time.monotonic()))


class Replica:
    def __init__(self, url: str, name: str, runs: list, *, job_store: bool = False):
        self.name, self.engine = name, make_engine(url)
        stores = {"default": MemoryJobStore()}
        if job_store:
            stores["opgaver"] = SQLAlchemyJobStore(url=normalise_url(url),
                                                   tablename="test_leader_jobs")
        self.scheduler = AsyncIOScheduler(timezone="UTC", jobstores=stores)
        self.lead = Leadership(self.engine, name="test:leder", retry_seconds=0.3,
                               check_seconds=0.2)

        async def job() -> None:
            runs.append((name, time.monotonic()))

        self.scheduler.add_job(guarded(self.lead, job), "interval", seconds=0.25, id="job",
                               coalesce=True, max_instances=1)
        self.scheduler.start(paused=True)
        self.lead.on_elected = lambda: lead_scheduler(self.scheduler, True)
        self.lead.on_deposed = lambda: lead_scheduler(self.scheduler, False)
        self.task = asyncio.create_task(self.lead.run())

    async def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.engine.dispose()


async def wait_for(condition, timeout: float) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@needs_postgresql
async def test_leader_hands_over_when_its_connection_dies(empty_database):
    url, engine = empty_database
    runs: list[tuple[str, float]] = []
    replicas = [Replica(url, "a", runs), Replica(url, "b", runs)]
    try:
        await wait_for(lambda: any(r.lead.leading for r in replicas), 15)
        await asyncio.sleep(1.0)
        leaders = [r for r in replicas if r.lead.leading]
        assert len(leaders) == 1
        first = leaders[0]
        second = next(r for r in replicas if r is not first)
        assert {name for name, _ in runs} == {first.name}  # the follower ran nothing

        # The leader's session dies (as when its process is killed or its machine is lost). A
        # dead process does not try again; this one is still alive, so it is told not to (else
        # it may win the lock back before the other replica's next try, which is fine in
        # production but not the hand-over this test is about).
        first.lead.retry_seconds = 3600
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"),
                               {"pid": first.lead.backend_pid})
        killed = time.monotonic()
        await wait_for(lambda: second.lead.leading, 10)  # the follower's next try wins
        await wait_for(lambda: not first.lead.leading, 5)
        await asyncio.sleep(1.0)
    finally:
        for replica in replicas:
            await replica.stop()

    before = [t for name, t in runs if name == first.name]
    after = [t for name, t in runs if name == second.name]
    assert before and after
    assert max(before) < killed + 0.1  # a job that had begun may end; none began after
    assert min(after) > killed  # the new leader only after the old one's session died
    assert min(after) > max(before)  # never both: the new leader's first run after the last


@needs_postgresql
async def test_a_job_stored_by_a_follower_runs_once_on_the_leader(empty_database):
    url, _ = empty_database
    RUNS.clear()
    runs: list[tuple[str, float]] = []
    replicas = [Replica(url, "a", runs, job_store=True), Replica(url, "b", runs, job_store=True)]
    try:
        await wait_for(lambda: any(r.lead.leading for r in replicas), 15)
        follower = next(r for r in replicas if not r.lead.leading)
        follower.scheduler.add_job(
            "tests.replicas.test_leader:note_run", "date", args=["påmindelse"], id="p-1",
            jobstore="opgaver", replace_existing=True, misfire_grace_time=None,
            run_date=datetime.now(timezone.utc) + timedelta(seconds=0.3))
        await wait_for(lambda: RUNS, 15)
        await asyncio.sleep(0.8)
    finally:
        for replica in replicas:
            await replica.stop()
    assert [tag for tag, _ in RUNS] == ["påmindelse"]


async def test_sqlite_process_is_always_the_leader(empty_database):
    url, engine = empty_database
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: on PostgreSQL the lock decides (the tests above)")
    elected = []
    lead = Leadership(engine, on_elected=lambda: elected.append(True))
    await asyncio.wait_for(lead.run(), 1)
    assert lead.leading and elected == [True] and await lead.confirm()
