"""The `beredskab` command line (messages in Danish, like the rest of the product)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path


def _serve(args) -> int:
    from .serve import serve

    return asyncio.run(serve(host=args.host, port=args.port, demo=args.demo,
                             emulator_port=args.emulator_port))


def _demo(args) -> int:
    from .demo import SCENARIOS, run_scenario

    if args.scenario not in SCENARIOS:
        print(f"Ukendt scenarie '{args.scenario}'. Kendte: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    summary = asyncio.run(run_scenario(args.scenario, Path(args.out)))
    print(f"Scenariet '{args.scenario}' er kørt. Filerne ligger i {args.out}:")
    for name in ("graph-requests.jsonl", "bot-requests.jsonl", "cards/", "audit.jsonl",
                 "alerts.json", "handleplan-v1.html", "handleplan-v1.pdf",
                 "handleplan-v1-sikkerby.html", "commitments.json", "invitation.ics",
                 "meeting.json", "summary.json"):
        print(f"  {name}")
    for channel, states in summary["deliveries"].items():
        print(f"  {channel}: " + ", ".join(f"{state} {n}" for state, n in states.items() if n))
    return 0


def _database_url(args) -> str:
    """--database-url, else BEREDSKAB_DATABASE_URL, else the embedded SQLite default."""
    from .settings import Settings

    return args.database_url or Settings().database_url


def _db_upgrade(args) -> int:
    from handleplaner.storage import upgrade_database

    url = _database_url(args)
    upgrade_database(url)
    print("Databasen er opdateret.")
    return 0


def _directory_import(args) -> int:
    from handleplaner.directory import DirectoryError, import_directory_file
    from handleplaner.storage import make_engine

    url = _database_url(args)
    try:
        report = import_directory_file(make_engine(url), Path(args.file))
    except DirectoryError as error:
        print(f"Organisationsfilen blev ikke indlæst; intet er ændret.\n{error}", file=sys.stderr)
        return 1
    print(f"Organisationen er indlæst: {report}")
    return 0


def _teams_app(args) -> int:
    """Build the Teams app package (manifest.json, color.png, outline.png) as a zip."""
    from pydantic import ValidationError

    from .settings import Settings, SettingsError
    from .teams_app import TeamsAppError, build_package

    try:
        settings = Settings()
    except ValidationError as error:
        raise SettingsError("; ".join(
            f"BEREDSKAB_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors())) from None
    demo = args.demo or settings.demo
    bot_app_id = args.app_id or settings.bot_app_id
    if not bot_app_id and demo:
        from m365emulator.config import DEFAULT_BOT_APP_ID

        bot_app_id = DEFAULT_BOT_APP_ID
    if not bot_app_id:
        print("Bottens app-id kendes ikke. Angiv --app-id eller BEREDSKAB_BOT_APP_ID "
              "(eller --demo for emulatorens bot).", file=sys.stderr)
        return 2
    public_url = (args.public_url or settings.public_url).rstrip("/")
    try:
        manifest = build_package(Path(args.out), bot_app_id=bot_app_id, public_url=public_url,
                                 version=args.version, allow_http=demo)
    except TeamsAppError as error:
        print(f"Teams-pakken blev ikke skrevet.\n{error}", file=sys.stderr)
        return 2
    print(f"Teams-pakken er skrevet til {args.out}")
    print(f"  app-id {manifest['id']}, bot {bot_app_id}, version {manifest['version']}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="beredskab", description="SSP Beredskab")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start tjenesten")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8400)
    serve.add_argument("--demo", action="store_true",
                       help="demo-organisation og lokal Microsoft 365-emulator (også BEREDSKAB_DEMO=1)")
    serve.add_argument("--emulator-port", type=int, default=8401)
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="kør et scenarie mod emulatoren og skriv resultatet")
    demo.add_argument("--scenario", required=True)
    demo.add_argument("--out", required=True)
    demo.set_defaults(run=_demo)

    db = commands.add_parser("db", help="databasen").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="opdatér skemaet til nyeste version")
    upgrade.add_argument("--database-url")
    upgrade.set_defaults(run=_db_upgrade)

    directory = commands.add_parser("directory", help="organisationsoversigten").add_subparsers(
        dest="directory_command", required=True)
    load = directory.add_parser("import", help="indlæs en organisationsfil (YAML)")
    load.add_argument("file")
    load.add_argument("--database-url")
    load.set_defaults(run=_directory_import)

    teams = commands.add_parser("teams-app", help="byg Teams-app-pakken (zip til upload i Teams)")
    teams.add_argument("--out", required=True, help="zip-filen, der skal skrives")
    teams.add_argument("--app-id", help="bottens app-id (ellers BEREDSKAB_BOT_APP_ID)")
    teams.add_argument("--public-url",
                       help="tjenestens offentlige adresse (ellers BEREDSKAB_PUBLIC_URL)")
    teams.add_argument("--version", default="1.0.0", help="app-pakkens version, fx 1.0.0")
    teams.add_argument("--demo", action="store_true",
                       help="brug emulatorens bot-id og tillad http (også BEREDSKAB_DEMO=1)")
    teams.set_defaults(run=_teams_app)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    from .settings import SettingsError

    try:
        return args.run(args)
    except SettingsError as error:
        print(f"Fejl i indstillingerne: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
