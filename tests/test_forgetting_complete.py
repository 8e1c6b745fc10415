"""Forgetting is complete: seven months after closing, the registered people and CPR numbers
written into an incident's free text are gone from every table, every document and every export,
and the record's chain still verifies.

The incident is made through the normal flows: activation (a description naming people, with CPR
numbers in several shapes), an alert naming them (sent before they were registered, with a
reason for the likely names), the people registered with nicknames, a plan with a measure titled
and described with them, a frozen version, a meeting at their home with minutes naming them, a
§ 115 reason naming one, and closing. Retention runs through the command with the clock moved 7
months past closing."""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import inspect, text
from sqlmodel import Session

import bot.retention
from bot.activation import activate_beredskab
from bot.cli import main
from handleplaner import forgetting, involved, record
from handleplaner.clock import utcnow
from handleplaner.commitments import service as commitments
from handleplaner.directory import queries as directory
from handleplaner.incidents import Incident, close_incident
from handleplaner.meetings import service as meetings
from handleplaner.plans import service as plans
from handleplaner.plans.documents import SIKKERBY, render_plan_html, render_plan_pdf
from handleplaner.privacy.parties import record_full_sharing
from handleplaner.retention import months_before
from handleplaner.storage import transaction
from notifications.compose import compose_alert
from tests.service.helpers import noerrebro, secretariat_member, shooting

# Fictional people; the words searched for afterwards (case-folded).
PEOPLE = [{"name": "Malthe Fiktivsen", "nicknames": ["Bomme"], "age": 15, "role": "ung"},
          {"name": "Yasmin Prøvegaard", "nicknames": ["Yassi"], "role": "paaroerende"}]
NAME_WORDS = ("fiktivsen", "bomme", "prøvegaard", "yassi")
# CPR numbers in several shapes, and their ten digits.
CPRS = [("010203-1234", "0102031234"), ("15.07.08-4455", "1507084455"),
        ("2212991177", "2212991177"), ("050611/2233", "0506112233"),
        ("30\u00a009\u00a085\u00a06789", "3009856789"), ("1104\u200b974567", "1104974567")]
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212./_]")


def leftovers(where: str, value: str) -> list[str]:
    """The planted names and CPR numbers found in ``value``, as 'where: what'."""
    clean = unicodedata.normalize("NFKC", value)
    clean = "".join(c for c in clean if unicodedata.category(c) != "Cf").casefold()
    digits = SEPARATORS.sub("", clean)
    found = [word for word in NAME_WORDS if word in clean]
    found += [number for _shape, number in CPRS if number in digits]
    return [f"{where}: {item}" for item in found]


def build(engine) -> tuple[int, object]:
    editor = secretariat_member(engine)
    closed_at = utcnow() - timedelta(days=1)
    description = ("Skud mod en gruppe unge ved opgangen. MALTHE FIKTIVSEN (cpr "
                   f"{CPRS[0][0]}) blev ramt; Yassis mor, yasmin prøvegaard, {CPRS[1][0]}, "
                   "ringede. Bomme er kendt af klubben.")
    incident_id = activate_beredskab(engine, actor_id=editor.id, data=shooting(
        noerrebro(engine), description=description)).incident.id
    with transaction(engine) as session:
        # an alert naming them, sent before they were registered (the likely name is overridden)
        compose_alert(session, incident_id=incident_id, actor_id=editor.id, data={
            "kind": "besked", "severity": "orientering",
            "text": "Malthe Fiktivsens familie og Bomme er flyttet; hold øje med opgangen.",
            "audience": {"groups": ["styregruppe"]},
            "names_reason": "Navnene var nødvendige for at beskytte familien"})
        for person in PEOPLE:
            involved.register(session, incident_id=incident_id, actor_id=editor.id, data=person)
        plan = plans.draft_plan(session, incident_id=incident_id, actor_id=editor.id,
                                template_code="skyderi")
        existing = plans.measures(session, plan.id)[0]
        plans.add_measure(session, plan_id=plan.id, actor_id=editor.id, data={
            "title": "Samtale med malthe fiktivsen og Yassis mor",
            "description": f"Bommes skole kontaktes; CPR {CPRS[2][0]} og {CPRS[3][0]}.",
            "measure_type": existing.measure_type, "authority": existing.authority_code,
            "starts_at": existing.starts_at.isoformat(), "ends_at": existing.ends_at.isoformat()})
        external = directory.list_people(session, authority="TSB")[0]
        meeting = meetings.call_meeting(
            session, incident_id=incident_id, actor_id=editor.id, organizer="x@kk.example",
            data={"online": False, "location": "Hos Malthe Fiktivsens familie, 2. sal",
                  "externals": [{"person_id": external.id,
                                 "reason": "Team Sikker By kender Yassi fra opgangen"}]})
        meetings.add_decision(session, meeting_id=meeting.id, agenda_position=2,
                              actor_id=editor.id,
                              text=(f"BOMME ({CPRS[4][0]}) og yasmin prøvegaards søn får "
                                    f"tilbudt en kontaktperson; {CPRS[5][0]}."))
        version = plans.send_plan(session, plan_id=plan.id, actor_id=editor.id)
        commitments.sync_with_version(session, version)
        record_full_sharing(session, incident_id=incident_id, authority_code="TSB",
                            reason="Team Sikker By følger Bomme og Malthe Fiktivsen i opgangen",
                            actor_id=editor.id)
        close_incident(session, incident_id=incident_id, actor_id=editor.id, now=closed_at)
    return incident_id, closed_at


def database_text(engine) -> list[tuple[str, str]]:
    """(table.column, value as text) for every value of every table, by raw SQL."""
    out = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row):
                    if value is None:
                        continue
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        value = bytes(value).decode("latin-1")
                    out.append((f"{table}.{column}", str(value)))
    return out


def zip_texts(path) -> list[tuple[str, str]]:
    out = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            content = archive.read(name)
            if name.endswith(".pdf"):
                value = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
            else:
                value = content.decode("utf-8")
            out.append((f"{path.name}/{name}", value))
    return out


def test_seven_months_after_closing_nothing_of_them_is_left(demo_database, tmp_path, monkeypatch,
                                                           capsys):
    url, engine = demo_database
    incident_id, closed_at = build(engine)

    # Before: the planted names and numbers are there, in many tables (the record's copies
    # encrypted), so the search below can find what it looks for.
    before = [hit for where, value in database_text(engine) for hit in leftovers(where, value)]
    tables_before = {hit.split(".")[0] for hit in before}
    assert {"incident", "alert", "involved_person", "plan_measure", "plan_version", "meeting",
            "meeting_decision", "commitment", "meeting_invitee", "full_sharing"} <= tables_before
    assert not any(hit.startswith("record_entry.") for hit in before)  # encrypted
    with Session(engine) as session:
        texts = " ".join(record.readable(session, e) for e in record.entries(session, incident_id))
        assert leftovers("loggen", texts)  # readable while the key exists

    # The clock 7 months past closing; retention through the command.
    later = closed_at + timedelta(days=7 * 31)
    assert months_before(later, 6) > closed_at
    monkeypatch.setattr(bot.retention, "utcnow", lambda: later)
    monkeypatch.delenv("BEREDSKAB_RETENTION_PERSONAL_DATA_MONTHS", raising=False)
    assert main(["retention", "run", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "er håndhævet" in out and "2 involverede personer slettet" in out
    assert "1 nøgle destrueret" in out and "1 hændelse har fået" in out

    # Every table, every column, as text.
    found = [hit for where, value in database_text(engine) for hit in leftovers(where, value)]
    assert found == []

    # The record: still whole, and its personal part shredded.
    assert main(["record", "verify", "--database-url", url]) == 0
    capsys.readouterr()
    with Session(engine) as session:
        assert record.verify_chain(session, incident_id) is None
        entries = record.entries(session, incident_id)
        shredded = [e for e in entries if record.shredded(session, e)]
        assert shredded and all(record.SHREDDED in record.readable(session, e) for e in shredded)
        texts = [(f"post {e.seq}", record.readable(session, e)) for e in entries]
        # the documents of every version, full and for Team Sikker By
        for version in plans.versions(session, plans.plan_of_incident(session, incident_id).id):
            snapshot = plans.version_snapshot(session, version)
            for variant in ("fuld", SIKKERBY):
                texts.append((f"v{version.number} {variant}.html",
                              render_plan_html(snapshot, variant=variant)))
                pdf = render_plan_pdf(snapshot, variant=variant)
                texts.append((f"v{version.number} {variant}.pdf", "\n".join(
                    p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)))
        reference = session.get(Incident, incident_id).reference
    assert [hit for where, value in texts for hit in leftovers(where, value)] == []

    # The journal export and the aktindsigt copy, as the command writes them.
    for flags, name in (([], "sagsakt.zip"), (["--aktindsigt"], "aktindsigt.zip")):
        target = tmp_path / name
        assert main(["export", reference, "--out", str(target), "--database-url", url, *flags]) == 0
        files = zip_texts(target)
        assert any(path.endswith(".pdf") for path, _ in files)
        assert [hit for where, value in files for hit in leftovers(where, value)] == []
    capsys.readouterr()
    assert main(["record", "verify", "--database-url", url]) == 0


def test_every_table_of_an_incident_declares_its_text_columns():
    """A table whose rows reach an incident must say, for each text column, whether it holds
    free text (and is scrubbed) or not; otherwise retention refuses to run."""
    import notifications.retention  # noqa: F401  (declares the alerts' tables)

    assert forgetting.coverage_gaps() == []
    tables = {t.name for t in forgetting.incident_tables()}
    assert {"incident", "plan_version", "meeting_decision", "alert", "involved_person",
            "record_entry", "record_key"} <= tables


def test_an_undeclared_table_stops_retention(engine, monkeypatch):
    import notifications.retention  # noqa: F401
    from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Text

    from handleplaner import retention

    table = Table("incident_note", MetaData(), Column("id", Integer, primary_key=True),
                  Column("incident_id", Integer, ForeignKey("incident.id")),
                  Column("text", Text))
    assert forgetting.coverage_gaps([table]) == ["incident_note.text"]
    monkeypatch.setitem(forgetting.COLUMNS, "alert", forgetting.Columns(("title",)))
    assert "alert.body" in forgetting.coverage_gaps()
    incident_id, closed_at = build(engine)
    later = closed_at + timedelta(days=7 * 31)
    with pytest.raises(retention.RetentionError, match="alert.body"):
        retention.apply(engine, later, retention.Policy())
    with Session(engine) as session:  # nothing was done
        assert involved.names_of(session, incident_id)


@pytest.mark.parametrize("value, expected", [
    ("Samtale med MALTHE FIKTIVSEN og bommes mor", "Samtale med [fjernet] og [fjernet] mor"),
    (f"cpr {CPRS[4][0]} og {CPRS[5][0]}", "cpr [fjernet] og [fjernet]"),
    ('{"title": "Malthe Fiktivsens sag", "n": 3}', '{"title": "[fjernet] sag", "n": 3}'),
    ("Mødet med Sekretariatet i opgangen", "Mødet med Sekretariatet i opgangen"),
])
def test_scrubbing_one_text(value, expected):
    names = ("Malthe Fiktivsen", "Bomme")
    new, found = forgetting.scrub_text(value, names)
    assert new == expected and (found > 0) == (new != value)


def test_the_aktindsigt_copy_is_redacted_and_checked_before_it_is_handed_out(engine,
                                                                              monkeypatch):
    """Before retention: the copy has none of the registered people and no CPR number (the PDFs'
    text included); and if redaction ever missed one, the check refuses the copy, naming the
    files, never the value."""
    from handleplaner.casefile import AKTINDSIGT, PersonalDataLeft, build_casefile
    from handleplaner.casefile import redaction

    incident_id, _closed = build(engine)
    with Session(engine) as session:
        copy = build_casefile(session, incident_id, variant=AKTINDSIGT)
    path = io.BytesIO(copy.data)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert any(name.endswith(".pdf") for name in files)
    texts = [(name, "\n".join(redaction._file_texts(name, content)))
             for name, content in files.items()]
    assert [hit for where, value in texts for hit in leftovers(where, value)] == []
    assert copy.removed.get("navn", 0) >= 6 and copy.removed.get("cpr", 0) >= 4

    # A redaction that lets text through: the check stops the copy.
    monkeypatch.setattr(redaction.Redact, "text", lambda self, value: value)
    with Session(engine) as session, pytest.raises(PersonalDataLeft) as refused:
        build_casefile(session, incident_id, variant=AKTINDSIGT)
    message = str(refused.value)
    assert "udleveres ikke" in message and "CPR-nummer" in message
    assert "haendelseslog.jsonl" in message or "sagsakt.json" in message
    assert not leftovers("fejlbeskeden", message)
