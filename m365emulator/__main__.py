"""`python -m m365emulator`: run the emulator on its own until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path

from .app import start_emulator
from .config import (
    DEFAULT_BOT_APP_ID,
    DEFAULT_BOT_APP_SECRET,
    DEFAULT_TENANT_ID,
    EmulatorConfig,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m m365emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3978)
    parser.add_argument("--bot-endpoint", help="the service's /api/messages URL, where user activities are posted")
    parser.add_argument("--record-dir", type=Path, help="append graph-requests.jsonl and bot-requests.jsonl here")
    parser.add_argument("--no-limits", action="store_true", help="do not enforce Microsoft's throttling limits")
    parser.add_argument("--latency-ms", type=int, nargs=2, metavar=("MIN", "MAX"), default=(0, 0))
    parser.add_argument("--tenant-id", default=DEFAULT_TENANT_ID)
    parser.add_argument("--app-id", default=DEFAULT_BOT_APP_ID, help="the bot's (and Graph client's) app id")
    parser.add_argument("--app-secret", default=DEFAULT_BOT_APP_SECRET)
    parser.add_argument("--people", type=Path, help='JSON file: [{"name", "email", "teams_user_id"}, ...]')
    parser.add_argument("--seed", type=int, help="seed for latency and fault draws")
    parser.add_argument("--directory", type=Path,
                        help='JSON file: Entra ID\'s {"users": [...], "groups": [...]} for groups/{id}/members '
                             "(python -m handleplaner.directory.entra_demo --emulator writes the demo's)")
    parser.add_argument("--members-page-size", type=int, default=999, help="at most this many group members per page")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    people = json.loads(args.people.read_text(encoding="utf-8")) if args.people else []
    return EmulatorConfig(
        tenant_id=args.tenant_id,
        bot_app_id=args.app_id,
        bot_app_secret=args.app_secret,
        graph_client_id=args.app_id,
        graph_client_secret=args.app_secret,
        bot_endpoint=args.bot_endpoint,
        latency_ms=tuple(args.latency_ms),
        limits=not args.no_limits,
        record_dir=args.record_dir,
        people=people,
        seed=args.seed,
        directory=json.loads(args.directory.read_text(encoding="utf-8")) if args.directory else None,
        members_page_size=args.members_page_size,
    )


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    emulator, runner = await start_emulator(config, host, port)
    base = emulator.base_url
    print(f"Microsoft 365-emulator kører på {base}", flush=True)
    print(f"  token:     {base}/{config.tenant_id}/oauth2/v2.0/token", flush=True)
    print(f"  log ind:   {base}/{config.tenant_id}/oauth2/v2.0/authorize", flush=True)
    print(f"  Graph:     {base}/v1.0", flush=True)
    print(f"  connector: {emulator.service_url}", flush=True)
    print(f"  OpenID:    {base}/botframework/v1/.well-known/openidconfiguration", flush=True)
    print(f"  bot:       {config.bot_endpoint or '(intet bot-endpoint)'}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not on this platform
            pass
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        asyncio.run(serve(config_from_args(args), args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
