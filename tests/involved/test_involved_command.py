"""The bot's "involveret" command: the secretariat and the incident's activator register a
person the incident concerns from the chat; anyone else gets the answer of an incident that
does not exist, and nothing is written."""
from __future__ import annotations

from sqlmodel import Session

from bot.involved_command import USAGE
from handleplaner import involved, record
from handleplaner.directory import queries as directory

from tests.service.helpers import DEMO, noerrebro, secretariat_member, shooting


async def said(service, person, text: str) -> str:
    status, _ = await service.emulator.send_to_bot(person.teams_user_id, text=text)
    assert status in (200, 201, 202)
    return service.emulator.chats[person.teams_user_id][-1]["activity"]["text"]


async def activated(service, actor) -> dict:
    created = await service.client.post("/api/incidents", headers={DEMO: actor.id},
                                        json=shooting(noerrebro(service.engine)))
    assert created.status == 201, await created.text()
    await service.services.worker.run_until_idle(timeout=120)
    return await created.json()


def listed(engine, incident_id: int) -> list[tuple]:
    with Session(engine) as session:
        return [(p.name, p.nickname_list, p.age, p.role, p.area_code, p.created_by)
                for p in involved.listed(session, incident_id)]


async def test_the_secretariat_registers_a_person_from_the_chat(service):
    engine = service.engine
    editor = secretariat_member(engine)
    incident = await activated(service, editor)
    area = noerrebro(engine)[0]
    with Session(engine) as session:
        area_name = next(a.name for a in directory.all_areas(session) if a.code == area)
    answer = await said(service, editor, f"involveret {incident['reference'].lower()} Kasper "
                        f"Fiktivsen; alder 16; rolle vidne; kaldenavne KF, Kappe; "
                        f"område {area_name.upper()}")
    assert answer.startswith(f"Personen er registreret som involveret (vidne) på "
                             f"{incident['reference']}.")
    assert "Fiktivsen" not in answer
    assert listed(engine, incident["id"]) == [
        ("Kasper Fiktivsen", ["KF", "Kappe"], 16, "vidne", area, editor.id)]
    with Session(engine) as session:
        last = record.entries(session, incident["id"])[-1]
        assert last.summary == "Involveret person registreret (vidne)"


async def test_bad_input_gets_a_danish_answer_and_writes_nothing(service):
    engine = service.engine
    editor = secretariat_member(engine)
    incident = await activated(service, editor)
    with Session(engine) as session:
        before = record.count(session, incident["id"])
    ref = incident["reference"]
    assert await said(service, editor, f"involveret {ref} Kasper Fiktivsen; alder x") == (
        "Personen er ikke registreret: Alder skal være et helt tal mellem 0 og 120.")
    assert await said(service, editor, f"involveret {ref} Kasper; farve blå") == (
        "Personen er ikke registreret: 'farve' kendes ikke. Skriv alder, rolle, kaldenavne "
        "eller område.")
    assert await said(service, editor, "involveret") == USAGE
    assert await said(service, editor, f"involveret {ref}") == USAGE
    assert listed(engine, incident["id"]) == []
    with Session(engine) as session:
        assert record.count(session, incident["id"]) == before


async def test_the_activator_may_and_others_get_the_answer_of_a_missing_incident(service):
    engine = service.engine
    with Session(engine) as session:
        leaders = [p for p in directory.ledergruppe_leaders_for_areas(session, noerrebro(engine))
                   if not directory.is_secretariat(session, p.id) and p.teams_user_id]
        outsider = next(p for p in directory.list_people(session)
                        if p.teams_user_id and not directory.may_activate(session, p.id)
                        and directory.groups_of(session, p.id))
    activator = leaders[0]
    incident = await activated(service, activator)
    ref = incident["reference"]
    recipient = next(p for p in leaders[1:] if p.id != activator.id)
    from handleplaner import access

    with Session(engine) as session:
        assert access.may_view(session, recipient.id, incident["id"])
        assert not access.may_read_involved(session, recipient.id, incident["id"])

    for person in (recipient, outsider):
        answer = await said(service, person, f"involveret {ref} Lone Fiktivsen")
        missing = await said(service, person, "involveret H-1999-9999 Lone Fiktivsen")
        assert answer == f"Hændelsen {ref} findes ikke."
        assert missing == "Hændelsen H-1999-9999 findes ikke."
    assert listed(engine, incident["id"]) == []

    answer = await said(service, activator, f"involveret {ref} Lone Fiktivsen; rolle pårørende")
    assert answer.startswith("Personen er registreret som involveret (pårørende)")
    assert [row[0] for row in listed(engine, incident["id"])] == ["Lone Fiktivsen"]
