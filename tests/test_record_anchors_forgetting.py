"""The record's two safeguards together: the personal part encrypted per incident (forgotten by
destroying the key) and the signed anchors outside the database. Forgetting must not look like
tampering, the anchors must hold no personal data, and a rewritten personal part is named."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import Session

import bot.retention
from bot.activation import activate_beredskab
from bot.cli import main
from bot.settings import read_settings
from handleplaner import record
from handleplaner.clock import utcnow
from handleplaner.incidents import close_incident
from handleplaner.incidents.models import Incident
from handleplaner.plans import service as plans
from handleplaner.record import anchors, keys, signing
from handleplaner.record.service import entry_hash
from handleplaner.storage import transaction
from tests.service.helpers import noerrebro, secretariat_member, shooting
from tests.test_record_anchors import as_attacker

TITLE = "Samtale med Mads Hansen og hans mor"
WORDS = ("mads", "hansen")


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    path = tmp_path / "noegle" / "signering.pem"
    signing.create_key_file(path)
    monkeypatch.setenv("BEREDSKAB_RECORD_SIGNING_KEY", str(path))  # what `export` signs with
    return path


@pytest.fixture
def signer(key_file, anchor_file):
    return anchors.Anchorer(anchor_file, signing.load_private_key(str(key_file)),
                            every=timedelta(minutes=15))


@pytest.fixture
def incident(engine) -> int:
    """An incident whose record quotes a name: a measure titled with it, added to the plan."""
    editor = secretariat_member(engine)
    incident_id = activate_beredskab(engine, actor_id=editor.id,
                                     data=shooting(noerrebro(engine))).incident.id
    with transaction(engine) as session:
        plan = plans.draft_plan(session, incident_id=incident_id, actor_id=editor.id,
                                template_code="skyderi")
        existing = plans.measures(session, plan.id)[0]
        plans.add_measure(session, plan_id=plan.id, actor_id=editor.id, data={
            "title": TITLE, "measure_type": existing.measure_type,
            "authority": existing.authority_code,
            "starts_at": existing.starts_at.isoformat(), "ends_at": existing.ends_at.isoformat()})
    return incident_id


def verify(engine, key_file, anchor_file, capsys) -> tuple[int, str]:
    capsys.readouterr()
    url = engine.url.render_as_string(hide_password=False)
    status = main(["record", "verify", "--database-url", url, "--anchors", str(anchor_file),
                   "--public-key", str(key_file.with_suffix(".pub"))])
    return status, capsys.readouterr().out


def quoted(engine, incident_id: int) -> record.RecordEntry:
    with Session(engine) as session:
        return next(e for e in record.entries(session, incident_id)
                    if e.detail and TITLE in record.readable(session, e))


def test_forgetting_is_not_tampering_and_the_anchors_hold_no_name(engine, incident, signer,
                                                                   key_file, anchor_file,
                                                                   monkeypatch, tmp_path, capsys):
    assert len(signer.run(engine).signed) == 1
    with transaction(engine) as session:
        closed = close_incident(session, incident_id=incident,
                                actor_id=secretariat_member(engine).id)
        reference = closed.reference
    assert len(signer.run(engine).signed) == 1  # closed: signed at once
    entry = quoted(engine, incident)

    # Seven months later retention destroys the record's key and writes its own entry.
    later = utcnow() + timedelta(days=7 * 31)
    monkeypatch.delenv("BEREDSKAB_RETENTION_PERSONAL_DATA_MONTHS", raising=False)
    report = bot.retention.run(engine, read_settings(), now=later)
    assert report.totals()["personal_data"]["incidents"] == 1
    with Session(engine) as session:
        assert keys.destroyed(session, incident)
        after = session.get(record.RecordEntry, entry.id)
        assert (after.summary, after.detail, after.hash) == (entry.summary, entry.detail,
                                                              entry.hash)
        assert keys.SHREDDED in record.readable(session, after)
        head = session.get(Incident, incident).record_seq
    assert head > entry.seq

    # The chain still holds against every anchor signed before the key was destroyed ...
    status, out = verify(engine, key_file, anchor_file, capsys)
    assert status == 0, out
    assert f"{reference}: i orden ({head} poster)" in out and "seneste anker:" in out
    assert "mangler" not in out and "omskrevet" not in out
    # ... and the job signs the head after retention's entry: forgetting is not a rewrite.
    outcome = signer.run(engine, now=later)
    assert [a.seq for a in outcome.signed] == [head] and outcome.refused == []
    status, out = verify(engine, key_file, anchor_file, capsys)
    assert status == 0, out

    # Neither the anchor file nor the journal export's record and anchors hold the name.
    assert not any(word in anchor_file.read_text().lower() for word in WORDS)
    target = tmp_path / "sagsakt.zip"
    url = engine.url.render_as_string(hide_password=False)
    assert main(["export", reference, "--out", str(target), "--database-url", url]) == 0
    with zipfile.ZipFile(target) as archive:
        part = json.loads(archive.read("haendelseslog-ankre.json"))
        log = archive.read("haendelseslog.jsonl").decode("utf-8")
    assert part["kontrol"]["i_orden"] is True and part["ankre"][-1]["seq"] == head
    assert not any(word in log.lower() for word in WORDS)
    assert keys.SHREDDED in log


@pytest.mark.parametrize("shredded", [False, True], ids=["key-kept", "key-destroyed"])
def test_a_rewritten_personal_part_is_named_by_the_anchors(engine, incident, signer, key_file,
                                                           anchor_file, capsys, shredded):
    """Someone with the database swaps an entry's ciphertext for text sealed under a key of
    their own and recomputes every hash after it: the chain holds, the anchor does not."""
    signer.run(engine)
    entry = quoted(engine, incident)
    if shredded:
        with transaction(engine) as session:
            assert record.forget_record_personal_data(session, incident) == 1
    with Session(engine) as session:
        entries = record.entries(session, incident)
    forged = keys.seal(keys.AESGCM.generate_key(bit_length=256), {"titel": "Intet særligt"},
                       incident_id=incident, seq=entry.seq, action=entry.action)
    statements, prev = [], entries[entry.seq - 2].hash
    for each in entries[entry.seq - 1:]:
        detail = forged if each.seq == entry.seq else each.detail
        digest = entry_hash(incident_id=incident, seq=each.seq, at=each.at,
                            actor_id=each.actor_id, action=each.action, summary=each.summary,
                            data=each.data, prev_hash=prev, detail=detail)
        statements.append(("UPDATE record_entry SET detail = :detail, prev_hash = :prev, "
                           "hash = :hash WHERE id = :id",
                           {"detail": detail, "prev": prev, "hash": digest, "id": each.id}))
        prev = digest
    statements.append(("UPDATE incident SET record_head = :head WHERE id = :id",
                       {"head": prev, "id": incident}))
    as_attacker(engine, *statements)
    with Session(engine) as session:
        assert record.verify_chain(session, incident) is None  # the chain alone is fooled

    status, out = verify(engine, key_file, anchor_file, capsys)
    assert status == 1
    # one anchor: the rewritten entry lies somewhere up to the anchored head, which is this one
    assert entry.seq == len(entries)
    assert f"  omskrevet: en af posterne 1–{entry.seq} er ændret efter ankeret" in out


def test_the_aktindsigt_copy_keeps_an_anchor_key_id_that_looks_like_a_cpr_number(engine,
                                                                                  anchor_file):
    """A key id is 16 hex digits; one in a few hundred holds ten digits with a valid date. The
    aktindsigt copy must neither redact it (breaking the anchors) nor be refused for it."""
    from bot.casefile_pages import export_incident
    from handleplaner.casefile import AKTINDSIGT
    from handleplaner.privacy.check import find_personal_data

    for _attempt in range(100_000):
        key = signing.Ed25519PrivateKey.generate()
        if find_personal_data(signing.key_id(key), confidential_names=[]):
            break
    else:  # pragma: no cover - about one key in 700 qualifies
        pytest.fail("no key id that looks like a CPR number")
    signer = anchors.Anchorer(anchor_file, key, every=timedelta(minutes=15))
    incident_id = activate_beredskab(engine, actor_id=secretariat_member(engine).id,
                                     data=shooting(noerrebro(engine))).incident.id
    casefile = export_incident(engine, incident_id, variant=AKTINDSIGT, anchorer=signer)
    part = json.loads(zipfile.ZipFile(io.BytesIO(casefile.data)).read("haendelseslog-ankre.json"))
    assert [k["id"] for k in part["noegler"]] == [signing.key_id(key)]
    public = signing.load_public_key(part["noegler"][0]["offentlig_noegle"])
    for data in part["ankre"]:
        assert anchors.parse(data, {signing.key_id(public): public}).incident_id == incident_id
