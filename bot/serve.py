"""`beredskab serve`: run the service; in demo mode with the embedded Microsoft 365 emulator.

SIGTERM (or Ctrl-C) stops it gracefully within ``BEREDSKAB_SHUTDOWN_SECONDS``: the listening
socket closes (no new requests), requests under way finish (event streams are closed at once),
then the delivery worker finishes the calls it has made and writes their outcome, hands back
the rows it had not tried, and the scheduler stops. Exit status 0; 1 if the bound ran out (what
was left is taken again when its lease runs out).
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

from aiohttp import web

from . import logs
from .app import create_app
from .services import demo_settings
from .settings import load_settings, read_settings

log = logging.getLogger("bot.serve")


def emulator_people(engine) -> list[dict]:
    from sqlmodel import Session

    from handleplaner.directory import queries as directory

    with Session(engine) as session:
        return [{"name": p.name, "email": p.email, "teams_user_id": p.teams_user_id}
                for p in directory.list_people(session)]


async def start_demo_emulator(public_url: str, port: int, record_dir=None):
    from handleplaner.directory import DEMO_ORGANISATION, load_directory
    from handleplaner.directory.entra_demo import emulator_directory
    from m365emulator import EmulatorConfig, start_emulator

    from .entra_sign_in import CALLBACK_PATH

    # The demo organisation's Entra groups too (beredskab directory sync --mapping
    # handleplaner/directory/data/demo-entra-mapping.yaml reads them); sign-in's redirect URI
    # registered, as at Entra ID.
    config = EmulatorConfig(bot_endpoint=f"{public_url}/api/messages", record_dir=record_dir,
                            redirect_uris=[f"{public_url}{CALLBACK_PATH}"],
                            latency_ms=(20, 120), smtp_port=0,
                            directory=emulator_directory(load_directory(DEMO_ORGANISATION)))
    return await start_emulator(config, host="127.0.0.1", port=port)


# What demo mode points at the emulator; every other setting given in the environment is kept
# (the database, tuning, and a shared BEREDSKAB_SESSION_SECRET when several replicas serve).
EMULATOR_SETTINGS = frozenset({
    "demo", "tenant_id", "bot_app_id", "bot_app_secret", "token_url", "graph_base_url",
    "connector_url", "bot_openid_metadata_url", "entra_client_id", "entra_client_secret",
    "entra_authority", "public_url", "smtp_host", "smtp_port", "smtp_sender"})


def environment_overrides(base) -> dict:
    kept = {name: getattr(base, name) for name in base.model_fields_set
            if name not in EMULATOR_SETTINGS}
    kept["database_url"] = base.database_url
    return kept


async def serve(*, host: str, port: int, demo: bool, emulator_port: int,
                emulator_url: str | None = None) -> int:
    """Run until stopped. ``emulator_url``: in demo mode, use an emulator already running there
    (``python -m m365emulator``, shared by several replicas) instead of starting one."""
    demo = demo or os.environ.get("BEREDSKAB_DEMO", "").lower() in ("1", "true", "ja", "yes")
    logs.configure(demo=demo)
    public_url = os.environ.get("BEREDSKAB_PUBLIC_URL") or f"http://{host}:{port}"
    emulator = emulator_runner = None
    if demo:
        base = read_settings()  # database URL and tuning from the environment
        if emulator_url:
            emulator_base, smtp_port = emulator_url.rstrip("/"), None
        else:
            emulator, emulator_runner = await start_demo_emulator(public_url, emulator_port)
            emulator_base, smtp_port = emulator.base_url, emulator.smtp_port
        settings = demo_settings(emulator_base, public_url=public_url, smtp_port=smtp_port,
                                 **environment_overrides(base))
    else:
        settings = load_settings()
    logs.configure(settings.log_format, demo=demo)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    app = create_app(settings)
    app.on_shutdown.append(stop_delivering)
    # Our own request log line (bot/observe.py) replaces aiohttp's, which has the raw path.
    runner = web.AppRunner(app, access_log=None,
                           shutdown_timeout=min(10.0, settings.shutdown_seconds / 2))
    await runner.setup()  # builds the services: schema, demo organisation, worker
    if emulator is not None:
        from .keys import SERVICES

        emulator.config.people = emulator_people(app[SERVICES].engine)
    site = web.TCPSite(runner, host, port)
    await site.start()
    # What start-up built lives as long as the process: keep it out of the garbage collector's
    # full passes, which would otherwise stop every thread, the event loop and the card presses
    # with it, for a few hundred milliseconds now and then (bench/load.py).
    gc.freeze()
    print(f"SSP Beredskab kører på {public_url}", flush=True)
    if demo:
        print(f"Log ind som en demo-person på {public_url}/log-ind", flush=True)
        print(f"Microsoft 365-emulatoren (indbakker og Teams-chats): {emulator_base}/",
              flush=True)
    log.info("started on %s", public_url)
    await stopping.wait()
    log.info("stopping: no new requests; finishing the deliveries in flight")
    try:
        await asyncio.wait_for(stop(runner, emulator_runner), settings.shutdown_seconds)
    except asyncio.TimeoutError:
        log.error("not stopped within %g s; the deliveries left are taken again when their "
                  "lease runs out", settings.shutdown_seconds)
        return 1
    log.info("stopped")
    return 0


async def stop_delivering(app: web.Application) -> None:
    """As soon as the sockets are closed: the delivery worker takes no new rows, finishes the
    calls it has made and hands back the rest (``DeliveryWorker.run_once``)."""
    from .health import WORKER_TASK
    from .keys import SERVICES

    workers = [t for t in app[SERVICES].tasks if t.get_name() == WORKER_TASK]
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)


async def stop(runner: web.AppRunner, emulator_runner) -> None:
    """Sockets, then requests under way, then the services (worker, scheduler), then the demo's
    emulator (which answers the worker's last calls)."""
    await runner.cleanup()
    if emulator_runner is not None:
        await emulator_runner.cleanup()
