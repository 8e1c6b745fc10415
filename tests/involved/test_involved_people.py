"""The people an incident concerns: registered and removed by the secretariat or the activator,
read by no one else, and recorded without their names."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from bot.activation import activate_beredskab
from handleplaner import access, involved, record
from handleplaner.directory import queries as directory
from handleplaner.storage import transaction
from tests.service.helpers import noerrebro, secretariat_member, shooting


@pytest.fixture
def incident_id(engine) -> int:
    return activate_beredskab(engine, actor_id=secretariat_member(engine).id,
                              data=shooting(noerrebro(engine))).incident.id


def alerted_leader(engine, incident_id):
    """A leader alerted about the incident: may see it, but not whom it concerns."""
    with Session(engine) as session:
        leaders = directory.ledergruppe_leaders_for_areas(session, noerrebro(engine))
        leader = next(p for p in leaders if not directory.is_secretariat(session, p.id))
        assert access.may_view(session, leader.id, incident_id)
        return leader


def test_register_list_and_names_of(engine, incident_id):
    actor = secretariat_member(engine)
    with transaction(engine) as session:
        involved.register(session, incident_id=incident_id, actor_id=actor.id,
                          data={"name": "Kasper  Fiktivsen", "nicknames": "KF, Kappe",
                                "age": "16", "role": "ung"})
        involved.register(session, incident_id=incident_id, actor_id=actor.id,
                          data={"name": "Lone Fiktivsen", "role": "pårørende"})
    with Session(engine) as session:
        people = involved.listed(session, incident_id)
        assert [(p.name, p.role, p.age) for p in people] == [
            ("Kasper Fiktivsen", "ung", 16), ("Lone Fiktivsen", "paaroerende", None)]
        assert involved.names_of(session, incident_id) == [
            "Kasper Fiktivsen", "KF", "Kappe", "Lone Fiktivsen"]
        entries = record.entries(session, incident_id)
        summaries = [e.summary for e in entries[-2:]]
        assert summaries == ["Involveret person registreret (ung)",
                             "Involveret person registreret (pårørende)"]
        everything = " ".join(f"{e.summary} {e.data}" for e in entries)
        assert "Fiktivsen" not in everything and "Kappe" not in everything


def test_bad_input_names_each_field_in_danish_and_writes_nothing(engine, incident_id):
    actor = secretariat_member(engine)
    with Session(engine) as session:
        before = record.count(session, incident_id)
    with pytest.raises(involved.InvolvedInvalid) as raised, transaction(engine) as session:
        involved.register(session, incident_id=incident_id, actor_id=actor.id,
                          data={"name": " ", "age": "sytten", "area": "mars", "role": "chef",
                                "nicknames": [3]})
    assert raised.value.errors == {
        "name": "skal udfyldes", "age": "skal være et helt tal mellem 0 og 120",
        "area": "ukendt område", "role": "skal være ung, pårørende, vidne eller anden",
        "nicknames": "skal være en liste af tekster"}
    with Session(engine) as session:
        assert involved.listed(session, incident_id) == []
        assert record.count(session, incident_id) == before


def test_fewer_may_read_them_than_may_see_the_incident(engine, incident_id):
    leader = alerted_leader(engine, incident_id)
    with Session(engine) as session:
        assert not access.may_read_involved(session, leader.id, incident_id)
        assert access.may_read_involved(session, secretariat_member(engine).id, incident_id)
    with pytest.raises(involved.InvolvedRefused), transaction(engine) as session:
        involved.register(session, incident_id=incident_id, actor_id=leader.id,
                          data={"name": "Kasper Fiktivsen"})


def test_the_activator_may_read_them_and_remove_is_recorded_without_the_name(engine):
    with Session(engine) as session:
        activator = next(p for p in directory.ledergruppe_leaders_for_areas(
            session, noerrebro(engine)) if not directory.is_secretariat(session, p.id))
    incident_id = activate_beredskab(engine, actor_id=activator.id,
                                     data=shooting(noerrebro(engine))).incident.id
    with transaction(engine) as session:
        person = involved.register(session, incident_id=incident_id, actor_id=activator.id,
                                   data={"name": "Kasper Fiktivsen", "role": "vidne"})
        person_id = person.id
    with transaction(engine) as session:
        involved.remove(session, incident_id=incident_id, involved_id=person_id,
                        actor_id=activator.id)
    with Session(engine) as session:
        assert involved.listed(session, incident_id) == []
        last = record.entries(session, incident_id)[-1]
        assert last.summary == "Involveret person fjernet (vidne)"
    with pytest.raises(LookupError), transaction(engine) as session:
        involved.remove(session, incident_id=incident_id, involved_id=person_id,
                        actor_id=activator.id)


async def test_the_json_api_registers_lists_and_removes_and_refuses_the_alerted(service):
    from tests.service.helpers import DEMO

    client, engine = service.client, service.engine
    editor = secretariat_member(engine)
    created = await (await client.post("/api/incidents", headers={DEMO: editor.id},
                                       json=shooting(noerrebro(engine)))).json()
    base = f"/api/incidents/{created['id']}/involved"
    bad = await client.post(base, headers={DEMO: editor.id}, json={"name": "", "age": "x"})
    assert bad.status == 422
    assert (await bad.json())["felter"] == {"name": "skal udfyldes",
                                            "age": "skal være et helt tal mellem 0 og 120"}
    added = await client.post(base, headers={DEMO: editor.id},
                              json={"name": "Kasper Fiktivsen", "nicknames": ["Kappe"]})
    assert added.status == 201
    person_id = (await added.json())["id"]
    listed = await (await client.get(base, headers={DEMO: editor.id})).json()
    assert [p["name"] for p in listed["involved"]] == ["Kasper Fiktivsen"]
    leader = alerted_leader(engine, created["id"])
    refused = await client.get(base, headers={DEMO: leader.id})
    assert refused.status == 403 and "Fiktivsen" not in await refused.text()
    assert (await client.post(base, headers={DEMO: leader.id},
                              json={"name": "Lone Fiktivsen"})).status == 403
    removed = await client.delete(f"{base}/{person_id}", headers={DEMO: editor.id})
    assert removed.status == 200
    assert (await client.delete(f"{base}/{person_id}", headers={DEMO: editor.id})).status == 404
