"""The database: one engine per URL, sessions, and schema upgrades through Alembic.

SQLite is the embedded default so the service runs with no setup; PostgreSQL is the production
database. Both are reached through SQLAlchemy URLs; a bare ``postgresql://`` URL is taken to mean
the psycopg 3 driver.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool, StaticPool
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Return a SQLAlchemy URL with an explicit driver for PostgreSQL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_folder(url: str) -> None:
    """Create the folder a SQLite database file lives in (``var/`` on a fresh machine), so that
    whatever opens the database first, the service, a migration or a command, finds it."""
    parsed = make_url(normalise_url(url))
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:")
        sqlite_folder(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if in_memory else None,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def lock_key(name: str) -> int:
    """The 64-bit key of a PostgreSQL advisory lock, from its name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(url: str, name: str) -> Iterator[None]:
    """Held by one process at a time among all that share the PostgreSQL database (a
    session-level advisory lock on a connection of its own; the others wait). For work that two
    replicas starting at once must not do side by side: the schema upgrade, the first import.
    SQLite serves one process: nothing to hold."""
    if make_url(normalise_url(url)).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": lock_key(name)})
            try:
                yield
            finally:
                with suppress(Exception):  # a lost connection has released the lock already
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                       {"key": lock_key(name)})
    finally:
        engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` (the ``beredskab db upgrade`` command)."""
    from alembic import command

    sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)
