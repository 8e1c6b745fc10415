"""The `beredskab` command line (messages in Danish, like the rest of the product)."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

DISTRIBUTION = "ssp-beredskab"
# The scripted scenarios of `beredskab demo` (bot/demo.py's SCENARIOS; a test keeps them equal),
# named here so that `--help` lists them without loading the service.
SCENARIO_NAMES = ("skyderi",)
# What demo mode needs beyond the service: the emulator and the packages only it uses, which
# the extra `ssp-beredskab[demo]` installs.
DEMO_MODULES = ("m365emulator", "aiosmtpd")


def version() -> str:
    """The installed distribution's version (pyproject.toml's, in a checkout too)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "ukendt (ikke installeret)"


def _demo_missing() -> str | None:
    """None if demo mode can run here, else the Danish sentence that says what to install."""
    missing = [name for name in DEMO_MODULES if find_spec(name) is None]
    if not missing:
        return None
    return (f"Demo-tilstanden bruger den lokale Microsoft 365-emulator, og den er ikke installeret "
            f"her (mangler: {', '.join(missing)}). Installér den med:\n"
            f"  pip install '{DISTRIBUTION}[demo]'")


def _demo_mode(args) -> bool:
    return bool(getattr(args, "demo", False)) or os.environ.get("BEREDSKAB_DEMO", "").lower() in (
        "1", "true", "ja", "yes")


def _serve(args) -> int:
    if _demo_mode(args) and (missing := _demo_missing()):
        print(missing, file=sys.stderr)
        return 2
    from .serve import serve

    return asyncio.run(serve(host=args.host, port=args.port, demo=args.demo,
                             emulator_port=args.emulator_port, emulator_url=args.emulator_url))


def _demo(args) -> int:
    if args.scenario not in SCENARIO_NAMES:
        print(f"Ukendt scenarie '{args.scenario}'. Kendte: {', '.join(SCENARIO_NAMES)}",
              file=sys.stderr)
        return 2
    if missing := _demo_missing():
        print(missing, file=sys.stderr)
        return 2
    from .demo import run_scenario
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
    from .settings import read_settings

    return args.database_url or read_settings().database_url


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


def _directory_sync(args) -> int:
    """Bring the directory in line with Entra ID's groups; without --apply only show how."""
    from handleplaner.directory import DirectoryError
    from handleplaner.directory.sync import SyncRefused
    from handleplaner.storage import make_engine

    from .directory_sync import report, run_sync
    from .entra_groups import GraphReadError
    from .services import schema_is_current
    from .settings import read_settings

    settings = read_settings()
    engine = make_engine(args.database_url or settings.database_url)
    try:
        if not schema_is_current(engine):
            print("Databasen er ikke opdateret. Kør: beredskab db upgrade", file=sys.stderr)
            return 2
        outcome = asyncio.run(run_sync(engine, settings, Path(args.mapping), apply=args.apply,
                                       force_remove=args.force_remove))
    except DirectoryError as error:
        print(f"Mappingfilen kan ikke bruges; intet er ændret.\n{error}", file=sys.stderr)
        return 1
    except GraphReadError as error:
        print(f"Entra ID kunne ikke læses; intet er ændret.\n{error}", file=sys.stderr)
        return 1
    except SyncRefused as error:
        print(f"Synkroniseringen er afvist; intet er ændret.\n{error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print("\n".join(report(outcome)))
    return 0


def _teams_app(args) -> int:
    """Build the Teams app package (manifest.json, color.png, outline.png) as a zip."""
    from .settings import read_settings
    from .teams_app import TeamsAppError, build_package

    settings = read_settings()
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
                                 version=args.version, demo=demo)
    except TeamsAppError as error:
        print(f"Teams-pakken blev ikke skrevet.\n{error}", file=sys.stderr)
        return 2
    print(f"Teams-pakken er skrevet til {args.out}")
    print(f"  app-id {manifest['id']}, bot {bot_app_id}, version {manifest['version']}")
    return 0


def _record_verify(args) -> int:
    """Check every incident's record (or one), also against the signed anchors outside the
    database: the first broken entry, what is missing or rewritten, the newest anchor's age."""
    from . import record_verify
    from .settings import read_settings

    settings = read_settings()
    return record_verify.run(settings, database_url=args.database_url or settings.database_url,
                             reference=args.incident, anchor_file=args.anchors,
                             public_key=args.public_key)


def _retention_run(args) -> int:
    """Anonymise and delete what is past its retention period (or, with --dry-run, count it)."""
    from handleplaner.storage import make_engine

    from .retention import lines, run
    from .settings import read_settings

    settings = read_settings()
    engine = make_engine(args.database_url or settings.database_url)
    try:
        report = run(engine, settings, dry_run=args.dry_run)
    finally:
        engine.dispose()
    print("\n".join(lines(report)))
    return 0


def _export(args) -> int:
    """The incident as a case file (zip): the sagsakt, or with --aktindsigt the access copy."""
    from sqlmodel import Session

    from handleplaner import record
    from handleplaner.casefile import (AKTINDSIGT, KIND_LABELS, SAGSAKT, CaseFileProblem,
                                       find_incident)
    from handleplaner.directory import queries as directory
    from handleplaner.storage import make_engine

    from .casefile_pages import export_incident
    from .record_anchors import anchorer
    from .settings import read_settings

    engine = make_engine(_database_url(args))
    try:
        with Session(engine) as session:
            incident = find_incident(session, args.incident)
            person = directory.get_person(session, args.by) if args.by else None
        if incident is None:
            print(f"Hændelsen '{args.incident}' findes ikke. Angiv referencen (fx H-2026-0001) "
                  "eller id'et.", file=sys.stderr)
            return 2
        if args.by and person is None:
            print(f"Personen '{args.by}' findes ikke i organisationen.", file=sys.stderr)
            return 2
        casefile = export_incident(engine, incident.id,
                                   variant=AKTINDSIGT if args.aktindsigt else SAGSAKT,
                                   exported_by=person.id if person else record.SYSTEM,
                                   anchorer=anchorer(read_settings()))
    except CaseFileProblem as problem:
        print(f"Sagsakten blev ikke skrevet.\n{problem}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(casefile.data)
    what = "Aktindsigtskopien" if args.aktindsigt else "Sagsakten"
    print(f"{what} for {casefile.reference} er skrevet til {out} ({len(casefile.files)} filer).")
    if args.aktindsigt:
        for kind, label in KIND_LABELS.items():
            print(f"  Fjernet – {label.lower()}: {casefile.removed.get(kind, 0)}")
    return 0


def _sessions_revoke(args) -> int:
    """Log a person out everywhere: end every open session, on every replica at once."""
    from sqlmodel import Session

    from handleplaner.directory import queries as directory
    from handleplaner.directory import sessions
    from handleplaner.storage import make_engine

    from .web_session import now

    engine = make_engine(_database_url(args))
    try:
        with Session(engine) as session:
            person = directory.get_person(session, args.person) or directory.person_by_email(
                session, args.person.strip().lower(), include_inactive=True)
        if person is None:
            print(f"Personen '{args.person}' findes ikke i organisationen. Angiv person-id'et "
                  "(fx p0001) eller e-mailadressen.", file=sys.stderr)
            return 2
        ended = sessions.end_all(engine, person_id=person.id, now=now())
    finally:
        engine.dispose()
    print(f"{person.name} ({person.id}) er logget ud overalt: {ended} åbne sessioner afsluttet.")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="beredskab", description="SSP Beredskab: hændelser, fælles handleplaner, opgaver og "
        "varsling over Teams og e-mail. Indstillinger læses fra miljøet (BEREDSKAB_*).")
    root.add_argument("--version", action="version", version=f"%(prog)s {version()}",
                      help="vis programmets version og stop")
    commands = root.add_subparsers(dest="command", required=True, metavar="KOMMANDO")

    serve = commands.add_parser("serve", help="start tjenesten")
    serve.add_argument("--host", default="127.0.0.1",
                       help="adressen, tjenesten lytter på (standard: %(default)s)")
    serve.add_argument("--port", type=int, default=8400,
                       help="porten, tjenesten lytter på (standard: %(default)s)")
    serve.add_argument("--demo", action="store_true",
                       help="demo-organisation og lokal Microsoft 365-emulator (også BEREDSKAB_DEMO=1); "
                            f"kræver {DISTRIBUTION}[demo]")
    serve.add_argument("--emulator-port", type=int, default=8401,
                       help="demo: porten, den indbyggede emulator lytter på (standard: %(default)s)")
    serve.add_argument("--emulator-url", metavar="URL",
                       help="demo: brug en emulator, der allerede kører (python -m m365emulator), "
                            "fx når flere replikaer deler den")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="kør et scenarie mod emulatoren og skriv resultatet")
    demo.add_argument("--scenario", required=True, metavar="NAVN",
                      help=f"scenariet, der skal køres: {', '.join(SCENARIO_NAMES)}")
    demo.add_argument("--out", required=True, metavar="MAPPE",
                      help="mappen, filerne skrives i (oprettes, hvis den mangler)")
    demo.set_defaults(run=_demo)

    database_help = ("databasens SQLAlchemy-adresse (ellers BEREDSKAB_DATABASE_URL, "
                     "ellers sqlite:///var/beredskab.db)")
    db = commands.add_parser("db", help="databasen").add_subparsers(
        dest="db_command", required=True, metavar="KOMMANDO")
    upgrade = db.add_parser("upgrade", help="opdatér skemaet til nyeste version")
    upgrade.add_argument("--database-url", help=database_help)
    upgrade.set_defaults(run=_db_upgrade)

    directory = commands.add_parser("directory", help="organisationsoversigten").add_subparsers(
        dest="directory_command", required=True, metavar="KOMMANDO")
    load = directory.add_parser("import", help="indlæs en organisationsfil (YAML)")
    load.add_argument("file", metavar="FIL", help="organisationsfilen (YAML)")
    load.add_argument("--database-url", help=database_help)
    load.set_defaults(run=_directory_import)
    sync = directory.add_parser("sync", help="hent organisationen fra Entra ID-grupperne "
                                             "(vis ændringerne; --apply gennemfører dem)")
    sync.add_argument("--mapping", required=True,
                      help="mappingfilen (YAML): hvilke Entra-grupper er hvilke SSP-grupper")
    sync.add_argument("--apply", action="store_true",
                      help="gennemfør ændringerne (ellers en prøvekørsel, der intet ændrer)")
    sync.add_argument("--force-remove", action="store_true",
                      help="fjern også personer, der ejer åbne opgaver eller tiltag")
    sync.add_argument("--database-url", help=database_help)
    sync.set_defaults(run=_directory_sync)

    log = commands.add_parser("record", help="hændelsesloggen (notatpligt)").add_subparsers(
        dest="record_command", required=True, metavar="KOMMANDO")
    verify = log.add_parser("verify", help="kontrollér hash-kæden og de signerede ankre; meld "
                                           "brud, manglende og omskrevne poster")
    verify.add_argument("--incident", help="kun denne hændelse (reference, fx H-2026-0001)")
    verify.add_argument("--anchors", metavar="FIL", help="ankerfilen med de signerede hoveder "
                        "(ellers BEREDSKAB_RECORD_ANCHOR_FILE)")
    verify.add_argument("--public-key", metavar="NØGLE", help="den offentlige Ed25519-nøgle "
                        "(PEM-fil eller base64; ellers BEREDSKAB_RECORD_VERIFY_KEY)")
    verify.add_argument("--database-url", help=database_help)
    verify.set_defaults(run=_record_verify)

    keep = commands.add_parser("retention", help="opbevaringsfrister (GDPR)").add_subparsers(
        dest="retention_command", required=True, metavar="KOMMANDO")
    purge = keep.add_parser("run", help="anonymisér og slet det, hvis opbevaringsfrist er nået")
    purge.add_argument("--dry-run", action="store_true",
                       help="tæl kun, hvad der ville blive anonymiseret og slettet")
    purge.add_argument("--database-url", help=database_help)
    purge.set_defaults(run=_retention_run)

    teams = commands.add_parser("teams-app", help="byg Teams-app-pakken (zip til upload i Teams)")
    teams.add_argument("--out", required=True, help="zip-filen, der skal skrives")
    teams.add_argument("--app-id", help="bottens app-id (ellers BEREDSKAB_BOT_APP_ID)")
    teams.add_argument("--public-url",
                       help="tjenestens offentlige adresse (ellers BEREDSKAB_PUBLIC_URL)")
    teams.add_argument("--version", default="1.0.0", help="app-pakkens version, fx 1.0.0")
    teams.add_argument("--demo", action="store_true",
                       help="brug emulatorens bot-id og tillad http på localhost "
                            "(også BEREDSKAB_DEMO=1)")
    teams.set_defaults(run=_teams_app)

    export = commands.add_parser("export", help="eksportér en hændelse som sagsakt (zip) til "
                                                "journalisering eller aktindsigt")
    export.add_argument("incident", help="hændelsens reference (fx H-2026-0001) eller id")
    export.add_argument("--out", required=True, help="zip-filen, der skal skrives")
    export.add_argument("--aktindsigt", action="store_true",
                        help="kopi til aktindsigt: tredjemands personoplysninger fjernet")
    export.add_argument("--by", help="person-id på den, der eksporterer (skrives i loggen)")
    export.add_argument("--database-url", help=database_help)
    export.set_defaults(run=_export)

    sessions = commands.add_parser("sessions", help="log ind-sessioner").add_subparsers(
        dest="sessions_command", required=True, metavar="KOMMANDO")
    revoke = sessions.add_parser("revoke", help="log en person ud overalt (alle browsere, alle "
                                                "replikaer, med det samme)")
    revoke.add_argument("person", metavar="PERSON", help="personens id (fx p0001) eller e-mailadresse")
    revoke.add_argument("--database-url", help=database_help)
    revoke.set_defaults(run=_sessions_revoke)
    return root


def main(argv: list[str] | None = None) -> int:
    from . import logs

    logs.configure(demo=os.environ.get("BEREDSKAB_DEMO", "").lower() in ("1", "true", "ja", "yes"))
    args = parser().parse_args(argv)
    from .settings import SettingsError

    try:
        return args.run(args)
    except SettingsError as error:
        print(f"Fejl i indstillingerne: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
