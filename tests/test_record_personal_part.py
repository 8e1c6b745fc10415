"""The record's personal part: free text copied into an entry (a measure's title, a reason) is
stored encrypted under the incident's key, read back while the key exists, and unreadable once
retention destroys the key, while the hash chain still verifies."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bot.activation import activate_beredskab
from handleplaner import record
from handleplaner.plans import service as plans
from handleplaner.record.keys import RecordKey
from handleplaner.storage import transaction
from tests.service.helpers import noerrebro, secretariat_member, shooting

TITLE = "Samtale med mads hansen og hans mor"


@pytest.fixture
def measure_added(engine) -> int:
    """An incident with a plan, and a measure titled with a name added through the plan service."""
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


def _added(session: Session, incident_id: int):
    return [e for e in record.entries(session, incident_id)
            if e.action == "handleplan.aendret" and "tilføjet" in e.data][-1]


def test_the_title_is_encrypted_and_read_back(engine, measure_added):
    with Session(engine) as session:
        entry = _added(session, measure_added)
        assert "mads" not in (entry.summary + entry.data + entry.detail).lower()
        assert entry.summary.startswith("Indsats tilføjet: {titel}")
        assert entry.detail.startswith("aesgcm1:")
        assert record.readable(session, entry).startswith(f"Indsats tilføjet: {TITLE} (")
        assert record.personal(session, entry) == {"titel": TITLE}
        assert record.as_dict(entry, session)["summary"] == record.readable(session, entry)
        assert record.verify_chain(session, measure_added) is None
    # nothing in the database holds the title in clear but the plan itself
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT summary, data, detail FROM record_entry")).all()
    assert not any("mads" in " ".join(str(v) for v in row).lower() for row in rows)


def test_destroying_the_key_forgets_the_text_and_keeps_the_chain(engine, measure_added):
    with Session(engine) as session:
        before = {e.seq: (e.summary, e.detail, e.hash) for e in record.entries(session, measure_added)}
    with transaction(engine) as session:
        assert record.forget_record_personal_data(session, measure_added) == 1
        assert record.forget_record_personal_data(session, measure_added) == 0
    with Session(engine) as session:
        entries = record.entries(session, measure_added)
        assert {e.seq: (e.summary, e.detail, e.hash) for e in entries} == before  # unchanged
        assert record.verify_chain(session, measure_added) is None
        entry = _added(session, measure_added)
        assert record.readable(session, entry).startswith(f"Indsats tilføjet: {record.SHREDDED} (")
        assert record.personal(session, entry) is None and record.shredded(session, entry)
        key = session.exec(select(RecordKey).where(RecordKey.incident_id == measure_added)).one()
        assert key.key is None and key.destroyed_at is not None
        # entries without a personal part read as before
        first = entries[0]
        assert record.readable(session, first) == first.summary and not record.shredded(session, first)


def test_after_the_key_is_gone_new_personal_text_is_not_stored(engine, measure_added):
    with transaction(engine) as session:
        record.forget_record_personal_data(session, measure_added)
        entry = record.append(session, incident_id=measure_added, actor_id=record.SYSTEM,
                              action="test.efter", summary="Noget om {titel}",
                              detail={"titel": "Mads Hansen"})
        assert entry.detail is None and entry.summary == f"Noget om {record.SHREDDED}"
    with Session(engine) as session:
        assert record.verify_chain(session, measure_added) is None


def test_a_changed_ciphertext_breaks_the_chain(engine, measure_added):
    """The hash covers the ciphertext: a changed personal part is noticed."""
    with Session(engine) as session:
        entry = _added(session, measure_added)
    tail = "BBBB" if entry.detail.endswith("AAAA") else "AAAA"
    replacement = entry.detail[:-8] + tail + entry.detail[-4:]
    with engine.begin() as connection:
        triggers = connection.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'record_entry'")).all() if engine.dialect.name == "sqlite" else []
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE record_entry DISABLE TRIGGER record_entry_append_only"))
        for name, _sql in triggers:
            connection.execute(text(f"DROP TRIGGER {name}"))
        connection.execute(text("UPDATE record_entry SET detail = :d WHERE id = :id"),
                           {"d": replacement, "id": entry.id})
        for _name, sql in triggers:
            connection.execute(text(sql))
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE record_entry ENABLE TRIGGER record_entry_append_only"))
    with Session(engine) as session:
        broken = record.verify_chain(session, measure_added)
        assert broken is not None and broken.seq == entry.seq
        # and it does not decrypt as this entry's text either
        assert record.personal(session, _added(session, measure_added)) is None
