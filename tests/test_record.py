"""The incident record is append-only and tamper-evident."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.activation import activate_beredskab
from handleplaner import record
from handleplaner.incidents.models import Incident
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


def _without_guard(engine, statement: str, params: dict) -> None:
    """What someone with the database owner's rights could do: lift the triggers and write."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE record_entry DISABLE TRIGGER record_entry_append_only"))
            connection.execute(text(statement), params)
            connection.execute(text("ALTER TABLE record_entry ENABLE TRIGGER record_entry_append_only"))
        else:
            triggers = connection.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'record_entry'")).all()
            for name, _sql in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
            connection.execute(text(statement), params)
            for _name, sql in triggers:
                connection.execute(text(sql))


@pytest.mark.parametrize("statement", [
    "UPDATE record_entry SET summary = 'skjult' WHERE id = :id",
    "DELETE FROM record_entry WHERE id = :id",
])
def test_the_database_refuses_to_change_or_remove_an_entry(engine, incident_id, statement):
    with Session(engine) as session:
        first = record.entries(session, incident_id)[0]
    with pytest.raises(DBAPIError) as refused:
        with engine.begin() as connection:
            connection.execute(text(statement), {"id": first.id})
    assert "kun til tilføjelse" in str(refused.value)
    with Session(engine) as session:
        assert record.entries(session, incident_id)[0].summary == first.summary


def test_a_change_behind_the_models_back_is_detected(engine, incident_id):
    with Session(engine) as session:
        assert record.verify_chain(session, incident_id) is None
        second = record.entries(session, incident_id)[1]
    _without_guard(engine, "UPDATE record_entry SET summary = 'skjult' WHERE id = :id",
                   {"id": second.id})
    with Session(engine) as session:
        broken = record.verify_chain(session, incident_id)
    assert broken is not None and broken.seq == 2 and "ændret" in broken.reason


def test_a_removed_entry_is_detected_even_the_last(engine, incident_id):
    with Session(engine) as session:
        entries = record.entries(session, incident_id)
    last = entries[-1]
    _without_guard(engine, "DELETE FROM record_entry WHERE id = :id", {"id": last.id})
    with Session(engine) as session:
        broken = record.verify_chain(session, incident_id)
    assert broken is not None and broken.seq == last.seq and broken.reason == "posten mangler"

    _without_guard(engine, "DELETE FROM record_entry WHERE id = :id", {"id": entries[0].id})
    with Session(engine) as session:
        assert record.verify_chain(session, incident_id).seq == 1


def test_the_verify_command_reports_the_first_broken_entry(engine, incident_id, capsys):
    from bot.cli import main

    url = engine.url.render_as_string(hide_password=False)
    assert main(["record", "verify", "--database-url", url]) == 0
    assert "i orden" in capsys.readouterr().out
    with Session(engine) as session:
        third = record.entries(session, incident_id)[1]
        reference = session.get(Incident, incident_id).reference
    _without_guard(engine, "UPDATE record_entry SET actor_id = 'x' WHERE id = :id",
                   {"id": third.id})
    assert main(["record", "verify", "--database-url", url]) == 1
    out = capsys.readouterr().out
    assert f"{reference}: brudt ved post 2" in out


def test_entries_say_who_what_and_when(engine, incident_id):
    person = secretariat_member(engine)
    with Session(engine) as session:
        first, second = record.entries(session, incident_id)[:2]
    assert (first.actor_id, first.action) == (person.id, "beredskab.aktiveret")
    assert "Skyderi eller knivstikkeri" in first.summary and first.at is not None
    assert second.action == "varsel.accepteret" and second.prev_hash == first.hash
    assert record.as_dict(second)["data"]["kind"] == "aktivering"
