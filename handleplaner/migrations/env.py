"""Alembic environment: the schema is the SQLModel metadata of every model module."""
from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import handleplaner.commitments.models  # noqa: F401  (registers the tables)
import handleplaner.directory.models  # noqa: F401
import handleplaner.incidents.models  # noqa: F401
import handleplaner.involved.models  # noqa: F401
import handleplaner.privacy.parties  # noqa: F401
import handleplaner.meetings.models  # noqa: F401
import handleplaner.plans.models  # noqa: F401
import handleplaner.record.models  # noqa: F401
import handleplaner.record.reads  # noqa: F401
import notifications.models  # noqa: F401

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                    prefix="sqlalchemy.", poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """APScheduler keeps its own job table; it is not part of the schema."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
