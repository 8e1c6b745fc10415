"""`beredskab directory sync` and the nightly sync: read the mapped Entra groups, show, apply.

Without --apply nothing is written: the command shows what would change. With it the changes
are applied in one transaction and recorded (directory_sync). A person who would be removed but
still owns open work is kept and named, unless --force-remove. The nightly job (services.py) is
the command with --apply, and tells the secretariat about each such person, once per incident.
"""
from __future__ import annotations

import asyncio
import getpass
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from handleplaner.directory import DirectoryError
from handleplaner.directory import queries as directory
from handleplaner.directory.mapping import DirectoryMapping, load_mapping
from handleplaner.directory.models import DirectorySync
from handleplaner.directory.sync import (SyncPlan, SyncRefused, apply_sync, describe, plan_sync,
                                         summary)
from handleplaner.incidents.service import lock_incident
from notifications.outbox import enqueue_alert
from notifications.tokens import ClientCredentialsTokens

from .entra_groups import PAGE_SIZE, GraphReadError, GroupMembers, graph_for, read_group_members
from .settings import Settings, SettingsError

log = logging.getLogger("directory.sync")
NIGHTLY = "natlig synkronisering"


@dataclass
class SyncOutcome:
    plan: SyncPlan
    read: GroupMembers
    record: DirectorySync | None = None  # None: a dry run

    @property
    def applied(self) -> bool:
        return self.record is not None


def command_user() -> str:
    try:
        return f"kommandolinje ({getpass.getuser()})"
    except Exception:  # no user name in this environment
        return "kommandolinje"


async def read_entra(settings: Settings, mapping: DirectoryMapping, *,
                     tokens: ClientCredentialsTokens | None = None,
                     page_size: int = PAGE_SIZE) -> GroupMembers:
    async with graph_for(settings, tokens) as client:
        return await read_group_members(client, mapping.entra_group_ids,
                                        transitive=mapping.transitive_group_ids,
                                        page_size=page_size)


def dry_run(engine: Engine, mapping: DirectoryMapping, read: GroupMembers, *,
            force_remove: bool = False) -> SyncPlan:
    with Session(engine) as session:
        return plan_sync(session, mapping, read.members, force_remove=force_remove)


async def run_sync(engine: Engine, settings: Settings, mapping_path: Path, *, apply: bool,
                   force_remove: bool = False, run_by: str | None = None,
                   tokens: ClientCredentialsTokens | None = None, after=None,
                   page_size: int = PAGE_SIZE) -> SyncOutcome:
    """Read Entra, then plan (dry run) or apply. Raises DirectoryError (mapping file),
    GraphReadError (Graph), SyncRefused or SettingsError, each before anything is written."""
    mapping = load_mapping(Path(mapping_path))
    read = await read_entra(settings, mapping, tokens=tokens, page_size=page_size)
    if not apply:
        plan = await asyncio.to_thread(dry_run, engine, mapping, read, force_remove=force_remove)
        plan.warnings.extend(read.notes)
        return SyncOutcome(plan=plan, read=read)
    plan, record = await asyncio.to_thread(
        apply_sync, engine, mapping, read.members, run_by=run_by or command_user(),
        mapping_file=str(mapping_path), force_remove=force_remove, after=after)
    plan.warnings.extend(read.notes)
    return SyncOutcome(plan=plan, read=read, record=record)


def report(outcome: SyncOutcome) -> list[str]:
    """What the command prints, in Danish."""
    plan = outcome.plan
    users = len({u.id for users in outcome.read.members.values() for u in users})
    head = (f"Synkronisering med Entra ID gennemført (nr. {outcome.record.id})."
            if outcome.applied else
            "Prøvekørsel af synkroniseringen med Entra ID – intet er ændret.")
    lines = [head, f"Læst {len(outcome.read.members)} Entra-grupper med {users} brugere "
                   f"({outcome.read.pages} sider fra Microsoft Graph)."]
    body = describe(plan)
    lines += body if body else ["Ingen ændringer: organisationen svarer til Entra ID."]
    lines.append(f"I alt: {summary(plan)}.")
    if not outcome.applied and plan.has_changes:
        lines.append("Kør igen med --apply for at gennemføre ændringerne.")
    return lines


# -- the nightly job -------------------------------------------------------------------------

def alert_secretariat(session: Session, plan: SyncPlan, record: DirectorySync) -> int:
    """Tell the secretariat, in each incident concerned, about people Entra no longer has who
    still own open work there (once per person and incident); the number of alerts made."""
    secretariat = directory.secretariat_members(session)
    made = 0
    for person in plan.kept:
        by_incident: dict[int, list[str]] = {}
        for work in plan.open_work.get(person["id"], []):
            by_incident.setdefault(work.incident_id, []).append(str(work))
        for incident_id, items in sorted(by_incident.items()):
            incident = lock_incident(session, incident_id)
            if incident is None or not secretariat:
                continue
            accepted = enqueue_alert(
                session, incident_id=incident_id, kind="besked", severity="varsling",
                exercise=incident.exercise, actor_id="system",
                title=f"{person['name']} er ikke længere i SSP's grupper i Entra ID",
                body=(f"Den natlige synkronisering med Entra ID fandt ikke længere "
                      f"{person['name']} ({person['email']}) i SSP's grupper. Personen ejer "
                      f"stadig: {'; '.join(items)}. Personen er bevaret som aktiv, indtil "
                      f"arbejdet er overdraget til en anden. (Synkronisering nr. {record.id}.)"),
                audience=secretariat, dedupe_key=f"katalog:{person['id']}:{incident_id}")
            made += 0 if accepted.merged else 1
    return made


async def nightly(engine: Engine, settings: Settings, *, tokens: ClientCredentialsTokens | None = None,
                  wake=None) -> SyncOutcome | None:
    """The scheduled sync: apply everything, but keep owners of open work and alert the
    secretariat. Problems are logged, never raised (the scheduler goes on)."""
    path = settings.directory_sync_mapping
    if path is None:
        return None
    alerts: list[int] = []

    def after(session, plan, record) -> None:
        alerts.append(alert_secretariat(session, plan, record))

    try:
        outcome = await run_sync(engine, settings, path, apply=True, run_by=NIGHTLY,
                                 tokens=tokens, after=after)
    except (DirectoryError, GraphReadError, SyncRefused, SettingsError) as error:
        log.error("natlig synkronisering af organisationen mislykkedes; intet er ændret: %s",
                  error)
        return None
    plan = outcome.plan
    log.info("natlig synkronisering af organisationen (nr. %s): %s", outcome.record.id,
             summary(plan))
    for person in plan.kept:
        log.warning("%s (%s) er ikke længere i Entra ID, men bevares: %s", person["name"],
                    person["id"], "; ".join(person["open_work"]))
    if sum(alerts) and wake is not None:
        wake()
    return outcome
