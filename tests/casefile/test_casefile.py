"""The case file: every part of the sagsakt with a manifest that matches; the aktindsigt copy with
no marked value and no CPR number left anywhere (PDF text included); the export recorded; the
command line by reference or id, refusing an unknown incident."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlmodel import Session, select

import bot.app  # noqa: F401 - every table model imported, for marked_models()
from bot.casefile_pages import export_incident
from bot.cli import main
from handleplaner import record
from handleplaner.casefile import AKTINDSIGT, REMOVED, SAGSAKT
from handleplaner.casefile.material import gather
from handleplaner.casefile.redaction import COPY_MIN, Redact
from handleplaner.commitments.models import Commitment
from handleplaner.incidents.models import Incident
from handleplaner.meetings.models import MeetingInvitee, MinuteDecision
from handleplaner.personal_data import REDACTED, marked_models, personal_fields
from handleplaner.plans.models import (ApprovalDecision, Plan, PlanEvaluation, PlanExtension,
                                       PlanMeasure)
from handleplaner.involved.models import InvolvedPerson
from handleplaner.privacy.check import CPR, find_personal_data
from handleplaner.privacy.parties import FullSharing

from .scenario import CPR_FORMS, DIGEST, YOUNG, build_case, squeeze, texts

SURNAME = YOUNG.split()[-1]


@pytest.fixture
def case(engine):
    return build_case(engine)


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def _marked_values(engine) -> list[str]:
    """Every marked value in the database (the test database holds only this incident)."""
    values = set()
    with Session(engine) as session:
        for model in marked_models():
            for row in session.exec(select(model)):
                for name in personal_fields(model):
                    value = getattr(row, name) or ""
                    for item in value if isinstance(value, list) else [value]:
                        if len(item.strip()) >= COPY_MIN:
                            values.add(item.strip())
    return sorted(values)


def test_every_marked_model_is_read_into_the_case_file():
    known = {Incident, Plan, PlanMeasure, ApprovalDecision, PlanExtension, PlanEvaluation,
             Commitment, MeetingInvitee, MinuteDecision, InvolvedPerson, FullSharing}
    assert set(marked_models()) == known, "a newly marked model must be handled by the case file"


def test_the_sagsakt_holds_every_part_with_a_manifest_that_matches(engine, case):
    casefile = export_incident(engine, case.incident_id, variant=SAGSAKT,
                               exported_by=case.editor_id)
    assert casefile.filename == f"{case.reference}-sagsakt.zip"
    archive = _zip(casefile.data)
    names = set(archive.namelist())
    assert names == set(casefile.files)
    assert {"sagsakt.json", "README.txt", "haendelseslog.jsonl", "haendelseslog-kontrol.json",
            "handleplan/version-1.pdf", "handleplan/version-1.html", "handleplan/version-1.json",
            "handleplan/plan.json", "handleplan/godkendelser.json", "handleplan/forlaengelser.json",
            "handleplan/evalueringer.json", "moeder/moede-1.json",
            "moeder/moede-1-beslutningsreferat.txt", "opgaver.json", "varsler.json"} <= names

    casefile_json = json.loads(archive.read("sagsakt.json"))
    assert casefile_json["reference"] == case.reference and casefile_json["variant"] == SAGSAKT
    assert casefile_json["haendelse"]["description"].startswith("Skud mod en gruppe unge")
    assert casefile_json["omraader"] and casefile_json["tilstand"]["kode"] == "evaluering"
    assert casefile_json["eksporteret_af"]["id"] == case.editor_id
    manifest = {f["navn"]: f for f in casefile_json["filer"]}
    assert set(manifest) == names - {"sagsakt.json"}
    for name, entry in manifest.items():
        content = archive.read(name)
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), name
        assert entry["bytes"] == len(content)

    lines = archive.read("haendelseslog.jsonl").decode().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0]["action"] == "beredskab.aktiveret" and entries[0]["hash"]
    check = json.loads(archive.read("haendelseslog-kontrol.json"))
    assert check["hel"] is True and check["brud"] is None and check["poster"] == len(entries)
    assert casefile_json["haendelseslog"]["hel"] is True

    assert archive.read("handleplan/version-1.pdf").startswith(b"%PDF")
    assert "<html" in archive.read("handleplan/version-1.html").decode().lower()
    decisions = json.loads(archive.read("handleplan/godkendelser.json"))
    assert decisions[0]["decision"] == "godkend" and SURNAME in decisions[0]["comment"]
    assert json.loads(archive.read("handleplan/forlaengelser.json"))[0]["af"]["id"] == case.editor_id
    assert json.loads(archive.read("handleplan/evalueringer.json"))[0]["text"].startswith("Samtalen")
    meeting = json.loads(archive.read("moeder/moede-1.json"))
    assert any(i["svar_tekst"] == "Deltager" for i in meeting["inviterede"])
    assert any(i["external"] and i["reason"] for i in meeting["inviterede"])
    minutes = archive.read("moeder/moede-1-beslutningsreferat.txt").decode()
    assert "Beslutningsreferat" in minutes and "Næste møde om to dage" in minutes
    tasks = json.loads(archive.read("opgaver.json"))
    confirmed = next(t for t in tasks if t["state"] == "bekraeftet")
    assert [h["action"] for h in confirmed["historik"]] == ["opgave.bekraeftet"]
    alerts = json.loads(archive.read("varsler.json"))
    activation = next(a for a in alerts if a["type"] == "aktivering")
    assert activation["leveringer"] and {d["tilstand"] for d in activation["leveringer"]} <= {
        "i_koe", "sendt", "fejlet", "kvitteret", "eskaleret"}
    assert all(d["modtager"]["navn"] for d in activation["leveringer"])

    readme = archive.read("README.txt").decode()
    assert "SAGSAKT TIL JOURNALISERING" in readme and case.editor_name in readme
    assert "hash-kæden er hel" in readme and "varsler.json" in readme

    # The sagsakt is complete: the young person's name is in it, in the PDF too (the scan works).
    found = texts(casefile.data)
    assert SURNAME in squeeze(found["handleplan/version-1.pdf"])
    assert any(form in squeeze(found["handleplan/version-1.pdf"]) for form in CPR_FORMS)

    # The export is recorded, and the record still holds.
    with Session(engine) as session:
        last = record.entries(session, case.incident_id)[-1]
        assert last.action == "sag.eksporteret" and last.actor_id == case.editor_id
        assert json.loads(last.data) == {"variant": "sagsakt", "files": len(casefile.files),
                                         "by": case.editor_id}
        assert record.verify_chain(session, case.incident_id) is None


def test_the_aktindsigt_copy_has_no_marked_value_and_no_cpr_number_anywhere(engine, case):
    values = _marked_values(engine)
    assert any(YOUNG in v for v in values) and len(values) >= 8
    casefile = export_incident(engine, case.incident_id, variant=AKTINDSIGT,
                               exported_by=case.editor_id)
    assert casefile.filename == f"{case.reference}-aktindsigt.zip"
    found = texts(casefile.data)
    assert set(found) == set(casefile.files) and "handleplan/version-1.pdf" in found
    for name, text in found.items():
        flat, tight = " ".join(text.split()), squeeze(text)
        for value in values:
            assert " ".join(value.split()) not in flat, (name, value[:30])
            assert squeeze(value) not in tight, (name, value[:30])
        assert SURNAME.lower() not in tight.lower(), name
        assert not any(form in tight for form in CPR_FORMS), name
        cprs = [f for f in find_personal_data(DIGEST.sub(" ", text)) if f.kind == CPR]
        assert not cprs, (name, [str(f) for f in cprs])
        # Marked as confidential: the person responsible for the confidential measure.
        assert case.protected_name.lower() not in flat.lower(), name
        assert f'"{case.protected_id}"' not in text, name

    # The authorities' staff acting in office stay named.
    assert case.editor_name in found["haendelseslog.jsonl"]
    # Marked fields are replaced whole; the documents say what they are.
    incident = json.loads(found["sagsakt.json"])["haendelse"]
    assert incident["description"] == REDACTED and incident["title"] == "Skud ved boligområde"
    assert "aktindsigtskopi" in found["handleplan/version-1.pdf"].lower()
    snapshot = json.loads(found["handleplan/version-1.json"])
    assert snapshot["approval"]["decisions"][0]["comment"] == REDACTED
    assert REMOVED in json.dumps(snapshot, ensure_ascii=False)  # the CPR in a description

    readme = found["README.txt"]
    assert "AKTINDSIGTSKOPI" in readme and "CPR-numre: " in readme
    removed = json.loads(found["sagsakt.json"])["fjernet"]
    assert removed["felt"] >= 8 and removed["cpr"] >= 1 and removed["navn"] >= 1
    assert removed == casefile.removed
    with Session(engine) as session:
        last = record.entries(session, case.incident_id)[-1]
        assert json.loads(last.data)["variant"] == "aktindsigt"
        assert "personoplysninger om tredjemand fjernet" in last.summary


def test_copies_of_a_marked_value_are_found_even_when_cut_short(engine, case):
    with Session(engine) as session:
        material = gather(session, session.get(Incident, case.incident_id))
        redactor = Redact(session, material)
        reason = material.plans[0].extensions[0].reason
        cut = redactor.text(f"Forlænget: '{reason[:45]}…' (se begrundelsen)")
        assert reason[:45] not in cut and REMOVED in cut and redactor.counts["kopi"] == 1
        whole = redactor.text("Referat: Næste møde om to dage.")
        assert whole == f"Referat: {REMOVED}."
        # Only whole copies: the same letters inside a longer word stay.
        assert redactor.text("Næste møde om to dagene") == "Næste møde om to dagene"


def test_the_command_exports_by_reference_or_id_and_refuses_an_unknown_incident(
        demo_database, tmp_path, capsys):
    url, engine = demo_database
    case = build_case(engine)
    out = tmp_path / "ud" / "sag.zip"
    assert main(["export", case.reference.lower(), "--out", str(out), "--database-url", url,
                 "--by", case.editor_id]) == 0
    printed = capsys.readouterr().out
    assert f"Sagsakten for {case.reference} er skrevet til {out}" in printed
    assert "sagsakt.json" in _zip(out.read_bytes()).namelist()

    copy = tmp_path / "aktindsigt.zip"
    assert main(["export", str(case.incident_id), "--aktindsigt", "--out", str(copy),
                 "--database-url", url]) == 0
    printed = capsys.readouterr().out
    assert "Aktindsigtskopien" in printed and "cpr-numre:" in printed.lower()
    assert "AKTINDSIGTSKOPI" in _zip(copy.read_bytes()).read("README.txt").decode()

    missing = tmp_path / "findes-ikke.zip"
    assert main(["export", "H-1999-0042", "--out", str(missing), "--database-url", url]) == 2
    assert "Hændelsen 'H-1999-0042' findes ikke" in capsys.readouterr().err
    assert main(["export", "999999", "--out", str(missing), "--database-url", url]) == 2
    assert main(["export", case.reference, "--out", str(missing), "--database-url", url,
                 "--by", "p-ingen"]) == 2
    assert "Personen 'p-ingen' findes ikke" in capsys.readouterr().err
    assert not missing.exists()

    with Session(engine) as session:
        exports = [e for e in record.entries(session, case.incident_id)
                   if e.action == "sag.eksporteret"]
        assert [(e.actor_id, json.loads(e.data)["variant"]) for e in exports] == [
            (case.editor_id, "sagsakt"), (record.SYSTEM, "aktindsigt")]
        assert record.verify_chain(session, case.incident_id) is None
