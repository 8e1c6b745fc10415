"""`beredskab record verify`: every incident's hash chain, and the chain against the signed
anchors kept outside the database (``handleplaner.record.verify``). Names the first broken entry,
what is missing or rewritten since an anchor, and how old the newest anchor is; exits 1 on any
finding, 2 when it cannot check (an unknown incident, anchors but no public key)."""
from __future__ import annotations

import sys
from pathlib import Path

from sqlmodel import Session, select

from handleplaner import record
from handleplaner.clock import utcnow
from handleplaner.incidents.models import Incident
from handleplaner.record import anchors, verify
from handleplaner.record.signing import KeyProblem
from handleplaner.storage import make_engine

from .record_anchors import verify_keys
from .settings import Settings


def _anchor_lines(check: verify.AnchorCheck, now) -> list[str]:
    lines = [f"  {finding}" for finding in check.findings]
    if check.latest is None:
        return lines + ["  intet anker endnu"]
    newest = (f"  seneste anker: {verify.age(check.latest, now)} gammelt "
              f"(post {check.latest.seq})")
    if check.unanchored and check.latest.seq < check.entries:
        first, last = check.unanchored
        newest += f"; {verify.spans(range(first, last + 1))} er endnu ikke ankret"
    return lines + [newest]


def run(settings: Settings, *, database_url: str, reference: str | None = None,
        anchor_file: str | None = None, public_key: str | None = None) -> int:
    path = Path(anchor_file or settings.record_anchor_file)
    try:
        keys = verify_keys(settings, public_key)
    except KeyProblem as problem:
        print(f"Den offentlige nøgle kan ikke bruges: nøglen {problem}", file=sys.stderr)
        return 2
    found = anchors.read_anchors(path, keys) if keys else None
    if found is None and path.is_file() and path.stat().st_size:
        print(f"Ankrene i {path} kan ikke kontrolleres uden den offentlige nøgle. Angiv "
              "--public-key eller BEREDSKAB_RECORD_VERIFY_KEY.", file=sys.stderr)
        return 2
    now = utcnow()
    engine = make_engine(database_url)
    broken = 0
    try:
        with Session(engine) as session:
            query = select(Incident).order_by(Incident.id)
            if reference:
                query = query.where(Incident.reference == reference)
            incidents = list(session.exec(query))
            gone = [] if found is None else verify.vanished(
                found.anchors, set(session.exec(select(Incident.id))))
            if reference:
                gone = [(a, f) for a, f in gone if a.reference == reference.upper()]
            if reference and not incidents and not gone:
                print(f"Hændelsen {reference} findes ikke.", file=sys.stderr)
                return 2
            for incident in incidents:
                chain = record.verify_chain(session, incident.id)
                if chain is None:
                    print(f"{incident.reference}: i orden ({incident.record_seq} poster)")
                else:
                    print(f"{incident.reference}: brudt ved post {chain.seq}: {chain.reason}")
                check = None
                if found is not None:
                    check = verify.compare(session, incident.id, found.of(incident.id))
                    for line in _anchor_lines(check, now):
                        print(line)
                broken += bool(chain is not None or (check and check.findings))
            for anchor, finding in gone:
                broken += 1
                print(f"{anchor.reference}: {finding}")
    finally:
        engine.dispose()
    print(f"{len(incidents) + len(gone)} hændelseslog(ge) kontrolleret, {broken} brudt.")
    return 1 if _summary(found, path, keys, now) or broken else 0


def _summary(found: anchors.AnchorFile | None, path: Path, keys: dict, now) -> int:
    """The line about the anchors; the number of bad anchor lines (each a finding)."""
    if found is None:
        print(f"Ankre: ikke i brug (ingen nøgle og ingen ankre i {path}).")
        return 0
    for problem in found.problems:
        print(f"Ankerfilen: {problem}")
    if not found.exists:
        print(f"Ankre: ingen ankerfil i {path}; hash-kæderne er kun kontrolleret i databasen.")
        return len(found.problems)
    newest = verify.latest(found.anchors)
    age = f"seneste anker: {verify.age(newest, now)} gammelt" if newest else "ingen gyldige ankre"
    print(f"Ankre: {len(found.anchors)} gyldige i {path} (nøgle {', '.join(sorted(keys))}); {age}.")
    return len(found.problems)
