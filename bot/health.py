"""Probes for the orchestrator or load balancer.

- ``/healthz`` (liveness): the process answers HTTP. Restart it if this fails.
- ``/readyz`` (readiness): the database answers and its schema is at the newest migration, and
  this replica's delivery worker runs. 503 with the reasons otherwise: take the replica out of
  the load balancer, but do not restart it for this alone (a database that is down comes back).
"""
from __future__ import annotations

import asyncio
import functools

from aiohttp import web
from alembic.script import ScriptDirectory
from sqlalchemy import text

from handleplaner.storage import alembic_config

from . import access
from .keys import SERVICES

DATABASE_TIMEOUT = 3.0
WORKER_TASK = "leveringsarbejder"  # the delivery worker's task name (bot/services.py)


@functools.cache
def newest_migration() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _schema_revision(engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def worker_running(services) -> bool:
    return any(task.get_name() == WORKER_TASK and not task.done() for task in services.tasks)


async def readiness(services) -> dict[str, str]:
    """Each check's problem in Danish; empty when the replica is ready."""
    problems: dict[str, str] = {}
    try:
        revision = await asyncio.wait_for(asyncio.to_thread(_schema_revision, services.engine),
                                          DATABASE_TIMEOUT)
    except asyncio.TimeoutError:
        problems["database"] = f"Databasen svarede ikke inden for {DATABASE_TIMEOUT:g} sekunder."
    except Exception as error:  # noqa: BLE001 - reported, not raised
        problems["database"] = f"Databasen kan ikke læses ({type(error).__name__})."
    else:
        if revision != newest_migration():
            problems["migration"] = (f"Databasen er på version {revision or 'ingen'}, ikke den "
                                     f"nyeste ({newest_migration()}). Kør: beredskab db upgrade")
    if not worker_running(services):
        problems["worker"] = "Leveringsarbejderen kører ikke."
    return problems


@access.rule(access.PUBLIC)
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@access.rule(access.PUBLIC)
async def ready(request: web.Request) -> web.Response:
    problems = await readiness(request.app[SERVICES])
    if problems:
        return web.json_response({"status": "ikke klar", "fejl": " ".join(problems.values()),
                                  "problemer": problems}, status=503)
    return web.json_response({"status": "klar"})


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", health), web.get("/readyz", ready)]
