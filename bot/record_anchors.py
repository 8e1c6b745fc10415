"""The record's anchors from the settings: the signing key, the public keys that check, the
scheduled job that signs, and the anchors in each journal export (``handleplaner.record.anchors``).

Production gives the key from the secret store (``BEREDSKAB_RECORD_SIGNING_KEY``); without it
nothing is signed and the start-up log says so. Demo mode makes a key next to the anchor file
(``var/record-signing-key.pem`` by default), never in the database.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from handleplaner.casefile import Part
from handleplaner.clock import iso_utc, utcnow
from handleplaner.record import anchors, verify
from handleplaner.record.signing import (Ed25519PrivateKey, Ed25519PublicKey, create_key_file,
                                         key_id, load_private_key, load_public_key, public_pem)

from .settings import Settings, record_verify_keys

log = logging.getLogger("record.anchors")

DEMO_KEY_NAME = "record-signing-key.pem"
JOB_SECONDS = 60  # how often the job looks; a changed head is signed every record_anchor_minutes
EXPORT_FILE = "haendelseslog-ankre.json"


def demo_key_path(settings: Settings) -> Path:
    return Path(settings.record_anchor_file).parent / DEMO_KEY_NAME


def signing_key(settings: Settings) -> Ed25519PrivateKey | None:
    """The configured key; in demo mode the demo key (made on first use); else None."""
    if settings.record_signing_key:
        return load_private_key(settings.record_signing_key)
    if settings.demo:
        return create_key_file(demo_key_path(settings))
    return None


def verify_keys(settings: Settings, extra: str | None = None) -> dict[str, Ed25519PublicKey]:
    """Every public key that may check an anchor, by key id: ``extra`` (the command's
    --public-key), BEREDSKAB_RECORD_VERIFY_KEY, the signing key's own, and in demo mode the demo
    key if it exists. Never makes a key."""
    found = [load_public_key(extra)] if extra else []
    found += record_verify_keys(settings.record_verify_key)
    if settings.record_signing_key:
        found.append(load_private_key(settings.record_signing_key).public_key())
    elif settings.demo and demo_key_path(settings).is_file():
        found.append(load_private_key(str(demo_key_path(settings))).public_key())
    return {key_id(key): key for key in found}


def anchorer(settings: Settings) -> anchors.Anchorer | None:
    key = signing_key(settings)
    if key is None:
        log.warning("the record is not anchored: BEREDSKAB_RECORD_SIGNING_KEY is not set")
        return None
    return anchors.Anchorer(Path(settings.record_anchor_file), key,
                            every=timedelta(minutes=settings.record_anchor_minutes),
                            also_valid=verify_keys(settings))


def run_job(signer: anchors.Anchorer, engine) -> anchors.AnchorRun:
    """The scheduled job (in a thread): sign what is due, log what was refused."""
    outcome = signer.run(engine)
    if outcome.signed:
        log.info("record anchored: %s", ", ".join(
            f"{a.reference} post {a.seq}" for a in outcome.signed))
    return outcome


def export_part(session: Session, incident_id: int, signer: anchors.Anchorer | None) -> Part:
    """The incident's signed anchors for its journal export, the newest signed at the export
    (when the chain can be vouched for), with the public key and the check against them."""
    if signer is None:
        return Part(EXPORT_FILE, {"ankre": [], "bemaerkning": (
            "Tjenesten har ingen signeringsnøgle (BEREDSKAB_RECORD_SIGNING_KEY): hændelsesloggen "
            "er ikke ankret uden for databasen.")}, "hændelsesloggens signerede ankre (ingen)")
    signer.anchor_now(session, incident_id)
    found = signer.refresh().of(incident_id)
    check = verify.compare(session, incident_id, found)
    now = utcnow()
    keys = sorted({a.key for a in found} | {key_id(signer.key)})
    return Part(EXPORT_FILE, {
        "metode": ("Hvert anker er hændelsens id, reference, antal poster, sidste posts nummer, "
                   "hash-kædens hoved og tidspunktet, signeret med Ed25519. Signaturen dækker "
                   "felterne (uden 'signature') som JSON med sorterede nøgler, uden mellemrum. "
                   "Kontrollér med den offentlige nøgle; posten på ankerets plads i "
                   "haendelseslog.jsonl skal have ankerets hash."),
        "noegler": [{"id": k, "offentlig_noegle": public_pem(signer.keys[k])}
                    for k in keys if k in signer.keys],
        "ankre": [a.as_dict() for a in found],
        "kontrol": {"kontrolleret": iso_utc(now), "i_orden": not check.findings,
                    "fund": [str(f) for f in check.findings],
                    "seneste_anker": iso_utc(check.latest.at) if check.latest else None}},
        "hændelsesloggens signerede ankre (hash-kædens hoved signeret uden for databasen) "
        "og kontrollen mod dem")
