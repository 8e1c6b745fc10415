"""The incident record is append-only and tamper-evident."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.activation import activate_beredskab
from handleplaner import record
from handleplaner.record.service import RecordIsAppendOnly
from handleplaner.storage import transaction
from tests.service.helpers import noerrebro, secretariat_member, shooting


@pytest.fixture
def incident_id(engine) -> int:
    person = secretariat_member(engine)
    return activate_beredskab(engine, actor_id=person.id,
                              data=shooting(noerrebro(engine))).incident.id


def test_entries_cannot_be_changed_or_removed_through_the_model(engine, incident_id):
    with pytest.raises(RecordIsAppendOnly):
        with transaction(engine) as session:
            entry = record.entries(session, incident_id)[0]
            entry.summary = "noget andet"
            session.add(entry)
            session.flush()
    with pytest.raises(RecordIsAppendOnly):
        with transaction(engine) as session:
            session.delete(record.entries(session, incident_id)[0])
            session.flush()
    with Session(engine) as session:
        assert record.entries(session, incident_id)[0].action == "beredskab.aktiveret"


def test_a_change_behind_the_models_back_is_detected(engine, incident_id):
    with Session(engine) as session:
        assert record.verify_chain(session, incident_id) is None
        second = record.entries(session, incident_id)[1]
    with engine.begin() as connection:
        connection.execute(text("UPDATE record_entry SET summary = 'skjult' WHERE id = :id"),
                           {"id": second.id})
    with Session(engine) as session:
        broken = record.verify_chain(session, incident_id)
    assert broken is not None and broken.seq == 2


def test_entries_say_who_what_and_when(engine, incident_id):
    person = secretariat_member(engine)
    with Session(engine) as session:
        first, second = record.entries(session, incident_id)[:2]
    assert (first.actor_id, first.action) == (person.id, "beredskab.aktiveret")
    assert "Skyderi eller knivstikkeri" in first.summary and first.at is not None
    assert second.action == "varsel.accepteret" and second.prev_hash == first.hash
    assert record.as_dict(second)["data"]["kind"] == "aktivering"
