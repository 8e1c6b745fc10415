"""`beredskab serve`: run the service; in demo mode with the embedded Microsoft 365 emulator."""
from __future__ import annotations

import asyncio
import os

from aiohttp import web

from .app import create_app
from .services import demo_settings
from .settings import Settings, load_settings


def emulator_people(engine) -> list[dict]:
    from sqlmodel import Session

    from handleplaner.directory import queries as directory

    with Session(engine) as session:
        return [{"name": p.name, "email": p.email, "teams_user_id": p.teams_user_id}
                for p in directory.list_people(session)]


async def start_demo_emulator(public_url: str, port: int, record_dir=None):
    from m365emulator import EmulatorConfig, start_emulator

    config = EmulatorConfig(bot_endpoint=f"{public_url}/api/messages", record_dir=record_dir,
                            latency_ms=(20, 120), smtp_port=0)
    return await start_emulator(config, host="127.0.0.1", port=port)


async def serve(*, host: str, port: int, demo: bool, emulator_port: int) -> int:
    demo = demo or os.environ.get("BEREDSKAB_DEMO", "").lower() in ("1", "true", "ja", "yes")
    public_url = os.environ.get("BEREDSKAB_PUBLIC_URL") or f"http://{host}:{port}"
    emulator_runner = None
    if demo:
        emulator, emulator_runner = await start_demo_emulator(public_url, emulator_port)
        base = Settings()  # database URL and tuning from the environment
        settings = demo_settings(emulator.base_url, public_url=public_url,
                                 database_url=base.database_url, smtp_port=emulator.smtp_port)
    else:
        settings = load_settings()
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # builds the services: schema, demo organisation, worker
    if demo:
        from .keys import SERVICES

        emulator.config.people = emulator_people(app[SERVICES].engine)
    site = web.TCPSite(runner, host, port)
    await site.start()
    print(f"SSP Beredskab kører på {public_url}", flush=True)
    if demo:
        print(f"Log ind som en demo-person på {public_url}/log-ind", flush=True)
        print(f"Microsoft 365-emulatoren (indbakker og Teams-chats): {emulator.base_url}/",
              flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        if emulator_runner is not None:
            await emulator_runner.cleanup()
    return 0
