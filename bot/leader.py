"""Which replica runs the scheduled jobs: the leader, by a PostgreSQL advisory lock.

Every replica serves pages, card presses and the delivery worker; only one runs the scheduler
(escalation, the plan's time-box, meeting answers, the commitments' reminders in the persistent
"opgaver" job store, the nightly retention). APScheduler 3 has no locking of its own: two
schedulers on one job store would both take a due job and run it.

The leader holds a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
own. The others try again every few seconds. When the leader dies, PostgreSQL ends its session
and frees the lock, and the next try elsewhere wins (hand-over). The leader checks its connection
every second, and before each interval job runs (``confirm``): a connection that is gone means
the lock is gone, and the replica steps down at once. On SQLite (one process) the process is
always the leader.

The scheduler runs everywhere, paused on all but the leader: a paused APScheduler still writes
new jobs to the shared job store (a reminder planned by a card press on any replica) and only
the leader's running scheduler takes them out.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from handleplaner.storage import is_postgresql, lock_key

log = logging.getLogger(__name__)

LOCK_NAME = "beredskab:planlaegger"
RETRY_SECONDS = 3.0  # how often a follower tries to become the leader
CHECK_SECONDS = 1.0  # how often the leader checks that it still holds the lock
# The leader's connection: the server notices a leader that vanished without closing its socket
# (a lost machine) within about keepalives_idle + interval * count seconds.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
              "keepalives_count": 3, "application_name": "beredskab-leder"}


class Leadership:
    def __init__(self, engine: Engine, *, on_elected: Callable[[], None] = lambda: None,
                 on_deposed: Callable[[], None] = lambda: None, name: str = LOCK_NAME,
                 retry_seconds: float = RETRY_SECONDS, check_seconds: float = CHECK_SECONDS):
        self.engine = engine
        self.on_elected, self.on_deposed = on_elected, on_deposed
        self.key = lock_key(name)
        self.retry_seconds, self.check_seconds = retry_seconds, check_seconds
        self.shared = is_postgresql(engine)
        self.leading = False
        self.backend_pid: int | None = None  # the leader connection's server process
        self._lock_engine: Engine | None = None
        self._connection: Connection | None = None
        self._guard = threading.Lock()  # one statement at a time on the leader's connection

    # The lock ----------------------------------------------------------------------------------
    def _try_lock(self) -> bool:
        """Open a connection and try the lock on it; keep the connection if it was won."""
        if self._lock_engine is None:
            self._lock_engine = create_engine(self.engine.url, poolclass=NullPool,
                                              connect_args=KEEPALIVES)
        connection = self._lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            won = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                     {"key": self.key}).scalar()
            if won:
                self.backend_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
                with self._guard:
                    self._connection = connection
                return True
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        connection.close()
        return False

    def _holds(self) -> bool:
        """Whether the leader's connection is still there (and with it the lock)."""
        with self._guard:
            if self._connection is None:
                return False
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                self._drop()
                return False

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self.backend_pid = None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception:  # already gone
                pass

    def _release(self) -> None:
        with self._guard:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                             {"key": self.key})
                except Exception:  # a lost connection has released it already
                    pass
            self._drop()
        if self._lock_engine is not None:
            self._lock_engine.dispose()
            self._lock_engine = None

    # Becoming and ceasing to be the leader ----------------------------------------------------
    def _elected(self) -> None:
        self.leading = True
        log.info("this replica now runs the scheduled jobs (leader)")
        self.on_elected()

    def _deposed(self, reason: str) -> None:
        if not self.leading:
            return
        self.leading = False
        log.warning("this replica no longer runs the scheduled jobs: %s", reason)
        self.on_deposed()

    async def confirm(self) -> bool:
        """Still the leader? Asked before each scheduled job runs; steps down if not."""
        if not self.shared:
            return self.leading
        if self.leading and not await asyncio.to_thread(self._holds):
            self._deposed("the leader's database connection is gone")
        return self.leading

    async def run(self) -> None:
        """Try to lead until cancelled; keep checking while leading."""
        if not self.shared:
            self._elected()
            return
        try:
            while True:
                try:
                    if not self.leading:
                        if await asyncio.to_thread(self._try_lock):
                            self._elected()
                    elif not await asyncio.to_thread(self._holds):
                        self._deposed("the leader's database connection is gone")
                except Exception as error:  # the database is away: try again later
                    log.warning("leader lock: %s", error)
                    await asyncio.to_thread(self._release_connection_only)
                    self._deposed(f"database error: {error}")
                await asyncio.sleep(self.check_seconds if self.leading else self.retry_seconds)
        finally:
            self._deposed("stopping")
            await asyncio.to_thread(self._release)

    def _release_connection_only(self) -> None:
        with self._guard:
            self._drop()


def guarded(leadership: Leadership, job: Callable) -> Callable:
    """An async scheduled job that runs only while this replica is (still) the leader."""
    async def run() -> None:
        if await leadership.confirm():
            await job()
    run.__name__ = getattr(job, "__name__", "job")
    run.__qualname__ = getattr(job, "__qualname__", run.__name__)
    return run
