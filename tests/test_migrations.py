"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import handleplaner.commitments.models  # noqa: F401
import handleplaner.directory.models  # noqa: F401
import handleplaner.incidents.models  # noqa: F401
import handleplaner.involved.models  # noqa: F401
import handleplaner.privacy.parties  # noqa: F401
import handleplaner.meetings.models  # noqa: F401
import handleplaner.plans.models  # noqa: F401
import handleplaner.record.models  # noqa: F401
import notifications.models  # noqa: F401


def test_models_match_the_migrations(empty_database):
    _, engine = empty_database
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            # APScheduler's job tables (the service's, and the replica tests' own) are not ours
            "include_object": lambda o, name, type_, *_: not (
                type_ in ("table", "index") and "_jobs" in (name or "")
                and (name or "").startswith(("apscheduler_jobs", "test_leader_jobs",
                                             "ix_apscheduler_jobs", "ix_test_leader_jobs")))})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_every_table_is_created(empty_database):
    from sqlalchemy import inspect

    _, engine = empty_database
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables
