"""The record anchored outside the database: signed heads in the anchor file, checked by
`beredskab record verify`, which names what an attacker with the database removed or rewrote."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.activation import activate_beredskab
from bot.cli import main
from handleplaner import record
from handleplaner.clock import utcnow
from handleplaner.incidents import close_incident
from handleplaner.incidents.models import Incident
from handleplaner.record import anchors, signing
from handleplaner.record.service import GENESIS, entry_hash
from handleplaner.storage import transaction
from tests.service.helpers import noerrebro, secretariat_member, shooting

EVERY = timedelta(minutes=15)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "noegle" / "signering.pem"
    signing.create_key_file(path)
    return path


@pytest.fixture
def signer(key_file, anchor_file):
    return anchors.Anchorer(anchor_file, signing.load_private_key(str(key_file)), every=EVERY)


def _activate(engine) -> int:
    person = secretariat_member(engine)
    return activate_beredskab(engine, actor_id=person.id,
                              data=shooting(noerrebro(engine))).incident.id


@pytest.fixture
def two(engine, signer):
    """Two incidents, both anchored now."""
    ids = [_activate(engine), _activate(engine)]
    assert {a.incident_id for a in signer.run(engine).signed} == set(ids)
    return ids


def _verify(engine, key_file, anchor_file, *more) -> int:
    url = engine.url.render_as_string(hide_password=False)
    return main(["record", "verify", "--database-url", url, "--anchors", str(anchor_file),
                 "--public-key", str(key_file.with_suffix(".pub")), *more])


def as_attacker(engine, *statements: tuple[str, dict]) -> None:
    """What someone with the database owner's rights does: drop the append-only triggers
    (migration 0008), write what they like, and put the triggers back so nothing shows."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgresql:
            connection.execute(text("DROP TRIGGER record_entry_append_only ON record_entry"))
            triggers = []
        else:
            triggers = connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'record_entry'")).all()
            assert triggers
            for name, _sql in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
        for statement, params in statements:
            connection.execute(text(statement), params)
        if postgresql:
            connection.execute(text(
                "CREATE TRIGGER record_entry_append_only BEFORE UPDATE OR DELETE ON record_entry "
                "FOR EACH ROW EXECUTE FUNCTION record_entry_append_only()"))
        for _name, sql in triggers:
            connection.execute(text(sql))


def _entries(engine, incident_id):
    with Session(engine) as session:
        return record.entries(session, incident_id)


def _chain_holds(engine, incident_id) -> bool:
    with Session(engine) as session:
        return record.verify_chain(session, incident_id) is None


def _reference(engine, incident_id) -> str:
    with Session(engine) as session:
        return session.get(Incident, incident_id).reference


def test_an_untouched_record_passes_and_the_anchors_age_is_told(engine, signer, key_file,
                                                                anchor_file, capsys):
    incident_id = _activate(engine)
    signer.run(engine, now=utcnow() - timedelta(hours=2, minutes=5, seconds=30))
    assert _verify(engine, key_file, anchor_file) == 0
    out = capsys.readouterr().out
    reference = _reference(engine, incident_id)
    count = len(_entries(engine, incident_id))
    assert f"{reference}: i orden ({count} poster)" in out
    assert f"seneste anker: 2 t 5 min gammelt (post {count})" in out
    assert "1 hændelseslog(ge) kontrolleret, 0 brudt." in out


def test_deleting_the_last_entry_and_moving_the_head_back_is_named(engine, two, key_file,
                                                                   anchor_file, capsys):
    victim, other = two
    entries = _entries(engine, victim)
    last, before = entries[-1], entries[-2]
    as_attacker(engine,
                ("DELETE FROM record_entry WHERE id = :id", {"id": last.id}),
                ("UPDATE incident SET record_seq = :seq, record_head = :head WHERE id = :id",
                 {"seq": before.seq, "head": before.hash, "id": victim}))
    assert _chain_holds(engine, victim)  # the chain alone no longer shows it

    assert _verify(engine, key_file, anchor_file) == 1
    out = capsys.readouterr().out
    reference = _reference(engine, victim)
    assert f"{reference}: i orden ({before.seq} poster)" in out
    assert (f"  mangler: post {last.seq} af {last.seq}: ankeret fra" in out
            and f"har {last.seq} poster, loggen har nu {before.seq}" in out)
    assert "2 hændelseslog(ge) kontrolleret, 1 brudt." in out
    other_block = out.split(f"{_reference(engine, other)}:")[1].split("\n")[:3]
    assert not any("mangler" in line or "omskrevet" in line for line in other_block)


def test_rewriting_an_entry_and_recomputing_every_hash_is_named(engine, two, key_file,
                                                                anchor_file, capsys):
    victim, _other = two
    entries = _entries(engine, victim)
    statements, prev = [], entries[0].hash
    for entry in entries[1:]:  # the second entry says something else; every hash after it redone
        summary = "Intet skete" if entry.seq == 2 else entry.summary
        digest = entry_hash(incident_id=victim, seq=entry.seq, at=entry.at,
                            actor_id=entry.actor_id, action=entry.action, summary=summary,
                            data=entry.data, prev_hash=prev, detail=entry.detail)
        statements.append(("UPDATE record_entry SET summary = :summary, prev_hash = :prev, "
                           "hash = :hash WHERE id = :id",
                           {"summary": summary, "prev": prev, "hash": digest, "id": entry.id}))
        prev = digest
    statements.append(("UPDATE incident SET record_head = :head WHERE id = :id",
                       {"head": prev, "id": victim}))
    as_attacker(engine, *statements)
    assert _chain_holds(engine, victim)
    assert _entries(engine, victim)[1].summary == "Intet skete"

    assert _verify(engine, key_file, anchor_file) == 1
    out = capsys.readouterr().out
    last = entries[-1]
    assert f"  omskrevet: en af posterne 1–{last.seq} er ændret efter ankeret fra" in out
    assert f"post {last.seq} havde hash {last.hash[:12]}…, nu {prev[:12]}…" in out
    assert "1 brudt." in out


def test_wiping_one_incidents_record_is_named(engine, two, key_file, anchor_file, capsys):
    victim, other = two
    count = len(_entries(engine, victim))
    as_attacker(engine,
                ("DELETE FROM record_entry WHERE incident_id = :id", {"id": victim}),
                ("UPDATE incident SET record_seq = 0, record_head = :genesis WHERE id = :id",
                 {"genesis": GENESIS, "id": victim}))
    assert _chain_holds(engine, victim)

    assert _verify(engine, key_file, anchor_file) == 1
    out = capsys.readouterr().out
    assert f"{_reference(engine, victim)}: i orden (0 poster)" in out
    assert f"  mangler: alle {count} poster (loggen er tom): ankeret fra" in out
    assert "2 hændelseslog(ge) kontrolleret, 1 brudt." in out
    # Only the victim: the other incident's record checks out on its own.
    assert _verify(engine, key_file, anchor_file, "--incident", _reference(engine, other)) == 0


def test_rewriting_after_a_later_anchor_narrows_down_the_entry(engine, signer, key_file,
                                                               anchor_file, capsys):
    incident_id = _activate(engine)
    first_anchor = signer.run(engine).signed[0]
    person = secretariat_member(engine)
    with transaction(engine) as session:
        close_incident(session, incident_id=incident_id, actor_id=person.id)
    later = signer.run(engine).signed  # closed: signed at once, without waiting 15 minutes
    assert [a.seq for a in later] == [first_anchor.seq + 1]
    closing = _entries(engine, incident_id)[-1]
    forged = entry_hash(incident_id=incident_id, seq=closing.seq, at=closing.at,
                        actor_id=closing.actor_id, action=closing.action, summary="Fortsætter",
                        data=closing.data, prev_hash=closing.prev_hash, detail=closing.detail)
    as_attacker(engine,
                ("UPDATE record_entry SET summary = 'Fortsætter', hash = :hash WHERE id = :id",
                 {"hash": forged, "id": closing.id}),
                ("UPDATE incident SET record_head = :hash WHERE id = :id",
                 {"hash": forged, "id": incident_id}))
    assert _verify(engine, key_file, anchor_file) == 1
    out = capsys.readouterr().out
    assert (f"  omskrevet: post {closing.seq} er ændret efter ankeret" in out
            and f"(post {first_anchor.seq} stemmer stadig med et anker)" in out)
    # The job does not sign over it: the newest anchor stays the honest one.
    outcome = signer.run(engine, now=utcnow() + 2 * EVERY)
    assert outcome.signed == [] and outcome.refused and "omskrevet" in outcome.refused[0][1]


def test_the_job_signs_a_changed_head_when_due(engine, signer):
    incident_id = _activate(engine)
    now = utcnow()
    assert len(signer.run(engine, now=now).signed) == 1
    assert signer.run(engine, now=now + 2 * EVERY).signed == []  # unchanged: nothing to sign
    with transaction(engine) as session:
        record.append(session, incident_id=incident_id, actor_id=record.SYSTEM,
                      action="test.post", summary="En post mere")
    assert signer.run(engine, now=now + timedelta(minutes=5)).signed == []  # not yet due
    (anchor,) = signer.run(engine, now=now + EVERY).signed
    head = _entries(engine, incident_id)[-1]
    assert (anchor.seq, anchor.entries, anchor.head) == (head.seq, head.seq, head.hash)
    lines = signer.path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[-1])["head"] == head.hash


def test_a_forged_or_foreign_anchor_line_is_a_finding(engine, signer, key_file, anchor_file,
                                                      capsys):
    _activate(engine)
    signer.run(engine)
    honest = json.loads(anchor_file.read_text())
    forged = {**honest, "entries": honest["entries"] - 1, "seq": honest["seq"] - 1}
    stranger = signing.Ed25519PrivateKey.generate()
    foreign = anchors.sign(stranger, incident_id=honest["incident_id"], reference="H-X",
                           entries=1, seq=1, head="0" * 64, at=utcnow())
    with anchor_file.open("a") as handle:
        handle.write(json.dumps(forged) + "\n" + foreign.line() + "ikke json\n")
    assert _verify(engine, key_file, anchor_file) == 1
    out = capsys.readouterr().out
    assert "linje 2 har en signatur, der ikke passer" in out
    assert f"linje 3 er signeret med en ukendt nøgle (id {signing.key_id(stranger)})" in out
    assert "linje 4 er ikke JSON" in out
    assert "Ankre: 1 gyldige i" in out


def test_anchors_without_the_public_key_cannot_be_checked(engine, signer, anchor_file, capsys):
    _activate(engine)
    signer.run(engine)
    url = engine.url.render_as_string(hide_password=False)
    assert main(["record", "verify", "--database-url", url, "--anchors", str(anchor_file)]) == 2
    assert "kan ikke kontrolleres uden den offentlige nøgle" in capsys.readouterr().err


def test_an_anchored_incident_gone_from_the_database_is_named():
    from handleplaner.record import verify

    key = signing.Ed25519PrivateKey.generate()
    kept = anchors.sign(key, incident_id=1, reference="H-2026-0001", entries=3, seq=3,
                        head="a" * 64, at=utcnow())
    gone = anchors.sign(key, incident_id=2, reference="H-2026-0002", entries=4, seq=4,
                        head="b" * 64, at=utcnow())
    ((anchor, finding),) = verify.vanished([kept, gone], present={1})
    assert anchor == gone and finding.kind == "mangler"
    assert "H-2026-0002 (id 2) findes ikke i databasen" in finding.text


def test_the_journal_export_carries_the_signed_anchors(engine, signer, key_file):
    import io
    import zipfile

    from bot.casefile_pages import export_incident
    from handleplaner.casefile import AKTINDSIGT, SAGSAKT

    incident_id = _activate(engine)
    head = _entries(engine, incident_id)[-1]
    for variant in (SAGSAKT, AKTINDSIGT):
        casefile = export_incident(engine, incident_id, variant=variant, anchorer=signer)
        archive = zipfile.ZipFile(io.BytesIO(casefile.data))
        part = json.loads(archive.read("haendelseslog-ankre.json"))
        assert part["kontrol"]["i_orden"] is True
        (pem,) = [k["offentlig_noegle"] for k in part["noegler"]]
        public = signing.load_public_key(pem)
        assert signing.key_id(public) == signing.key_id(
            signing.load_public_key(str(key_file.with_suffix(".pub"))))
        # Anyone with the public key checks each anchor from the export alone.
        for data in part["ankre"]:
            assert anchors.parse(data, {signing.key_id(public): public}).incident_id == incident_id
        exported = {json.loads(line)["seq"]: json.loads(line)["hash"]
                    for line in archive.read("haendelseslog.jsonl").decode().splitlines()}
        newest = part["ankre"][-1]
        assert exported[newest["seq"]] == newest["head"]
    assert part["ankre"][0]["head"] == head.hash  # the first export signed the head it exported
    assert len(signer.refresh().of(incident_id)) == 2  # and each export is in the anchor file


def test_keys_come_from_a_pem_file_pem_text_or_base64(tmp_path, key_file):
    from bot.settings import SettingsError, read_settings
    from cryptography.hazmat.primitives import serialization

    key = signing.load_private_key(str(key_file))
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    for value in (str(key_file), key_file.read_text(), base64.b64encode(raw).decode()):
        assert signing.key_id(signing.load_private_key(value)) == signing.key_id(key)
    secret = base64.b64encode(raw[:20]).decode()
    with pytest.raises(SettingsError) as refused:
        read_settings(record_signing_key=secret)
    assert "BEREDSKAB_RECORD_SIGNING_KEY: nøglen skal være 32 bytes" in str(refused.value)
    assert secret not in str(refused.value)
    with pytest.raises(SettingsError, match="BEREDSKAB_RECORD_VERIFY_KEY: nøglen filen"):
        read_settings(record_verify_key=str(tmp_path / "mangler.pub"))


def test_demo_mode_makes_its_key_next_to_the_anchor_file(tmp_path, anchor_file):
    from bot.record_anchors import anchorer, verify_keys
    from bot.settings import read_settings

    assert anchorer(read_settings(demo=False)) is None  # production without a key signs nothing
    settings = read_settings(demo=True)
    made = anchorer(settings)
    assert made.path == anchor_file
    assert (anchor_file.parent / "record-signing-key.pem").is_file()
    assert signing.key_id(made.key) in verify_keys(settings)
    assert signing.key_id(anchorer(settings).key) == signing.key_id(made.key)  # kept, not remade


async def test_the_scheduler_runs_the_anchoring_job(engine, signer, monkeypatch):
    import asyncio
    from types import SimpleNamespace

    from bot.services import escalation_scheduler
    from bot.settings import load_settings
    from notifications import commitment_reminders

    monkeypatch.setattr(commitment_reminders, "CONTEXT", commitment_reminders.CONTEXT)
    incident_id = _activate(engine)
    services = SimpleNamespace(engine=engine, settings=load_settings(demo=True), anchorer=signer,
                               worker=SimpleNamespace(wakeup=asyncio.Event()), calendar=None)
    job = next(j for j in escalation_scheduler(services).get_jobs() if j.id == "loggens-anker")
    await job.func()
    assert [a.incident_id for a in signer.refresh().anchors] == [incident_id]
