"""Claiming queued rows (deliveries, channel posts) with a lease, shared by every replica.

A row is claimed by writing who holds it (``claimed_by``) and until when (``claimed_until``).
Nobody takes a row under an unexpired lease; a worker that dies (SIGKILL, a lost machine)
leaves its rows to be taken again once the lease has run out. The holder renews the lease while
it works, so a slow batch (a long Retry-After) is not taken over while it is still being sent.

When Microsoft has accepted a call, the worker first writes a receipt on its rows
(``claimed_by`` = ``besvaret:<worker>``), one quick UPDATE, and then the full outcome (attempt,
record entry) in a larger transaction. A row with a receipt is never claimed for sending again:
if its worker died before writing the outcome, the next worker writes it down as sent.

A call that went out and got no answer (reset, timeout) leaves its rows queued and free, marked
``claimed_by`` = ``ubesvaret:<worker>`` (``UNANSWERED``): like a row whose lease ran out, it
comes back in ``held_before`` when claimed, and is read back from Microsoft before any resend.

On PostgreSQL the due rows are picked with ``SELECT … FOR UPDATE SKIP LOCKED``: replicas claiming
at the same moment skip each other's rows instead of waiting on them or racing for them. SQLite
(one process) takes the portable path: a conditional UPDATE on the rows picked, then reads back
what it got.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable, Iterable

from sqlalchemy import and_, not_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import select

from handleplaner.storage import is_postgresql, transaction

from .models import QUEUED

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
ANSWERED = "besvaret:"  # claimed_by of rows Microsoft has accepted, outcome not yet written
UNANSWERED = "ubesvaret:"  # claimed_by of rows whose last call got no answer (it may have arrived)


def holder_name(kind: str) -> str:
    """Who holds a claim: the kind of worker, the machine and the process (so an operator, or
    the crash bench, can tell which replica holds which rows), and a random part."""
    host = socket.gethostname().split(".")[0][:20]
    return f"{kind}-{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"  # with a claim's 9: < 64


def _free(model, now: datetime):
    """Not held under a live lease, and not already accepted by Microsoft (a receipt)."""
    return and_(or_(model.claimed_until.is_(None), model.claimed_until < now),
                or_(model.claimed_by.is_(None), not_(model.claimed_by.startswith(ANSWERED))))


def claim_due(engine: Engine, model, *, token: str, now: datetime, limit: int,
              lease: timedelta = LEASE, where: Iterable = (), order_by: Iterable = (),
              held_before: set[int] | None = None) -> list[int]:
    """Claim up to ``limit`` queued rows of ``model`` that are due and not held by anyone;
    return their ids. ``token`` must be new for each claim (it marks the rows taken).

    ``held_before`` receives the ids among them whose earlier claim ran out without an answer
    (its worker died, perhaps in the middle of a call Microsoft had taken), or whose last call
    got no answer (``UNANSWERED``)."""
    with transaction(engine) as session:
        due = (select(model.id, model.claimed_by)
               .where(model.state == QUEUED, model.next_attempt_at <= now, _free(model, now),
                      *where)
               .order_by(*(tuple(order_by) or (model.id,))).limit(limit))
        if is_postgresql(engine):
            due = due.with_for_update(skip_locked=True)
        rows = list(session.exec(due))
        if not rows:
            return []
        ids = [row_id for row_id, _ in rows]
        session.exec(update(model).where(model.id.in_(ids), model.state == QUEUED,
                                         _free(model, now))
                     .values(claimed_by=token, claimed_until=now + lease))
        claimed = sorted(session.exec(select(model.id).where(model.claimed_by == token)))
        if held_before is not None:
            taken = set(claimed)
            held_before.update(row_id for row_id, holder in rows if holder and row_id in taken)
        return claimed


def renew(engine: Engine, model, *, token: str, now: datetime, lease: timedelta = LEASE) -> int:
    """Extend the lease on the rows this claim still holds (not yet settled); how many."""
    with transaction(engine) as session:
        result = session.exec(update(model).where(model.claimed_by == token,
                                                  model.state == QUEUED)
                              .values(claimed_until=now + lease))
        return result.rowcount or 0


def release(engine: Engine, model, ids: list[int]) -> None:
    """Give back claimed rows that were never tried, so another worker takes them at once."""
    if not ids:
        return
    with transaction(engine) as session:
        session.exec(update(model).where(model.id.in_(ids), model.state == QUEUED)
                     .values(claimed_by=None, claimed_until=None))


async def claim_shielded(engine: Engine, model, claim: Callable[[], list[int]]) -> list[int]:
    """Run ``claim`` in a thread and return the ids it took; stopped (cancelled) meanwhile, the
    claim still completes and what it took is handed back before the cancellation goes on."""
    claiming = asyncio.ensure_future(asyncio.to_thread(claim))
    try:
        return await asyncio.shield(claiming)
    except asyncio.CancelledError:
        await asyncio.shield(_hand_back(engine, model, claiming))
        raise


async def _hand_back(engine: Engine, model, claiming: asyncio.Future) -> None:
    try:
        ids = await claiming
    except Exception:  # the claim failed: nothing was taken
        return
    await asyncio.to_thread(release, engine, model, ids)


def database_away(error: Exception) -> bool:
    """The database could not be reached or dropped the connection (a restart, a fail-over)."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)


async def settle_surely(settle: Callable[[], None], *, patience: float,
                        executor: Executor | None = None) -> None:
    """Write the outcome of a call that has been made. If the database is away, keep the outcome
    and try again for up to ``patience`` seconds (within the lease): an outcome lost here would
    send the row again once the lease ran out."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + patience, 0.25
    while True:
        try:
            await loop.run_in_executor(executor, settle)
            return
        except DBAPIError as error:
            if not database_away(error) or loop.time() + delay > deadline:
                raise
            log.warning("the database is away; writing the outcome again in %.1f s", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


class GroupCommit:
    """Writes that come in while one is under way go together in the next (group commit): one
    transaction for many outcomes keeps the gap between Microsoft's answer and our commit short
    while the answers come fast. Up to ``parallel`` writes run at once (for rows that need no
    common lock). ``write_many(items)`` runs in a thread; a group that fails is written again
    one by one, so one bad item does not take the others with it (unless the database stayed
    away through the patience: then the whole group fails at once)."""

    def __init__(self, write_many: Callable[[list], None], *, size: int, patience: float,
                 parallel: int = 1):
        self.write_many, self.size, self.patience = write_many, size, patience
        self.parallel = parallel
        # Threads of its own: a write must not wait behind the service's other blocking work.
        self.executor = ThreadPoolExecutor(parallel, thread_name_prefix="gruppeskrivning")
        self._waiting: list = []
        self._writers: set[asyncio.Future] = set()

    async def write(self, item) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        self._writers = {w for w in self._writers if not w.done()}
        if len(self._writers) < self.parallel:
            self._writers.add(asyncio.ensure_future(self._drain()))
        await done

    async def _drain(self) -> None:
        while self._waiting:
            group = self._waiting[:self.size]
            del self._waiting[:self.size]
            await self._write(group)

    async def _write(self, group: list) -> None:
        try:
            await settle_surely(lambda: self.write_many([item for item, _ in group]),
                                patience=self.patience, executor=self.executor)
        except Exception as error:
            if len(group) > 1 and not database_away(error):  # a bad item: the rest still go
                for one in group:
                    await self._write([one])
                return
            for _, done in group:  # the database stayed away: one by one would wait as long again
                if not done.done():
                    done.set_exception(error)
            return
        for _, done in group:
            if not done.done():
                done.set_result(None)
