"""The involved people on the web: the incident page's folded section for the secretariat and
the activator (list, add, remove), absent for everyone else; and the activation form's
"Involveret person" fields. Bad input comes back in Danish with everything typed kept."""
from __future__ import annotations

from sqlmodel import Session, func, select

from handleplaner import involved, record
from handleplaner.directory import queries as directory
from handleplaner.incidents import Incident

from tests.service.helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting

SECTION = "Involverede personer"


async def signed_in(client, person_id: str) -> str:
    """Sign in through the demo page; the pages' CSRF token."""
    await demo_sign_in(client, person_id)
    page = await (await client.get("/")).text()
    return page.split('name="csrf" value="')[1].split('"')[0]


async def activated(service, actor_id: str) -> dict:
    created = await service.client.post("/api/incidents", headers={DEMO: actor_id},
                                        json=shooting(noerrebro(service.engine)))
    assert created.status == 201, await created.text()
    return await created.json()


def alerted_leader(engine, incident_id: int):
    from handleplaner import access

    with Session(engine) as session:
        leaders = directory.ledergruppe_leaders_for_areas(session, noerrebro(engine))
        leader = next(p for p in leaders if not directory.is_secretariat(session, p.id))
        assert access.may_view(session, leader.id, incident_id)
        return leader


async def test_the_secretariat_adds_lists_and_removes_on_the_incident_page(service):
    client, engine = service.client, service.engine
    editor = secretariat_member(engine)
    incident = await activated(service, editor.id)
    page_url = f"/haendelser/{incident['id']}"
    csrf = await signed_in(client, editor.id)
    page = await (await client.get(page_url)).text()
    assert SECTION in page and "Ingen er registreret." in page
    area = noerrebro(engine)[0]
    with Session(engine) as session:
        before = record.count(session, incident["id"])
        area_name = next(a.name for a in directory.all_areas(session) if a.code == area)

    bad = await client.post(f"{page_url}/involverede", allow_redirects=False, data={
        "csrf": csrf, "involved_name": "Kasper Fiktivsen", "involved_nicknames": "Kappe, KF",
        "involved_age": "x", "involved_area": area, "involved_role": "vidne"})
    assert bad.status == 422
    text = await bad.text()
    assert "Alder skal være et helt tal mellem 0 og 120" in text
    assert 'id="involverede" open' in text
    assert 'value="Kasper Fiktivsen"' in text and 'value="Kappe, KF"' in text
    assert 'name="involved_age" size="3" value="x"' in text
    assert f'<option value="{area}" selected>' in text
    assert '<option value="vidne" selected>' in text
    with Session(engine) as session:
        assert involved.listed(session, incident["id"]) == []
        assert record.count(session, incident["id"]) == before

    added = await client.post(f"{page_url}/involverede", allow_redirects=False, data={
        "csrf": csrf, "involved_name": "Kasper Fiktivsen", "involved_nicknames": "Kappe, KF",
        "involved_age": "16", "involved_area": area, "involved_role": "vidne"})
    assert added.status == 303 and added.headers["Location"].endswith("#involverede")
    page = await (await client.get(page_url)).text()
    row = page.split("Registrerede personer", 1)[1].split("</tr>", 2)[1]
    for shown in ("Kasper Fiktivsen", "Kappe, KF", "<td>16</td>", area_name, "Vidne"):
        assert shown in row, shown
    with Session(engine) as session:
        (person,) = involved.listed(session, incident["id"])
        assert record.entries(session, incident["id"])[-1].summary == \
            "Involveret person registreret (vidne)"

    removed = await client.post(f"{page_url}/involverede/fjern", allow_redirects=False,
                                data={"csrf": csrf, "involved_id": str(person.id)})
    assert removed.status == 303
    with Session(engine) as session:
        assert involved.listed(session, incident["id"]) == []
    assert "Kasper Fiktivsen" not in await (await client.get(page_url)).text()


async def test_an_id_of_another_incident_is_answered_as_a_missing_one(service):
    client, engine = service.client, service.engine
    editor = secretariat_member(engine)
    first, second = await activated(service, editor.id), await activated(service, editor.id)
    added = await client.post(f"/api/incidents/{second['id']}/involved",
                              headers={DEMO: editor.id}, json={"name": "Lone Fiktivsen"})
    other_id = (await added.json())["id"]
    csrf = await signed_in(client, editor.id)
    answers = []
    for involved_id in (str(other_id), "999999", "x"):
        response = await client.post(f"/haendelser/{first['id']}/involverede/fjern",
                                     allow_redirects=False,
                                     data={"csrf": csrf, "involved_id": involved_id})
        text = await response.text()
        answers.append((response.status, "Den involverede person findes ikke." in text))
    assert answers == [(422, True)] * 3
    with Session(engine) as session:
        assert [p.name for p in involved.listed(session, second["id"])] == ["Lone Fiktivsen"]


async def test_those_who_may_not_read_them_do_not_see_the_section_and_cannot_post(service):
    client, engine = service.client, service.engine
    editor = secretariat_member(engine)
    incident = await activated(service, editor.id)
    await client.post(f"/api/incidents/{incident['id']}/involved", headers={DEMO: editor.id},
                      json={"name": "Kasper Fiktivsen"})
    await service.services.worker.run_until_idle(timeout=120)
    leader = alerted_leader(engine, incident["id"])
    csrf = await signed_in(client, leader.id)
    page = await client.get(f"/haendelser/{incident['id']}")
    assert page.status == 200
    text = await page.text()
    assert SECTION not in text and "Kasper Fiktivsen" not in text and "involverede" not in text
    refused = await client.post(f"/haendelser/{incident['id']}/involverede",
                                allow_redirects=False,
                                data={"csrf": csrf, "involved_name": "Lone Fiktivsen"})
    assert refused.status == 403
    assert "Kun SSP Sekretariatet og den, der aktiverede beredskabet" in await refused.text()
    with Session(engine) as session:
        assert [p.name for p in involved.listed(session, incident["id"])] == [
            "Kasper Fiktivsen"]


def activation_fields(csrf: str, data: dict, **involved_fields) -> list[tuple[str, str]]:
    fields = [("csrf", csrf), ("incident_type", data["incident_type"]), ("title", data["title"]),
              ("description", data["description"]), ("severity", "akut"),
              ("occurred_at", data["occurred_at"]), ("exercise", "ja")]
    fields += [("areas", code) for code in data["areas"]]
    return fields + list(involved_fields.items())


async def test_the_activation_form_registers_the_involved_person(service):
    client, engine = service.client, service.engine
    activator = secretariat_member(engine)
    csrf = await signed_in(client, activator.id)
    data = shooting(noerrebro(engine), title="Uro ved skolen")
    response = await client.post("/aktiver", allow_redirects=False, data=activation_fields(
        csrf, data, involved_name="Kasper Fiktivsen", involved_nicknames="Kappe",
        involved_age="15", involved_role="ung"))
    assert response.status == 303, await response.text()
    incident_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with Session(engine) as session:
        (person,) = involved.listed(session, incident_id)
        assert (person.name, person.nickname_list, person.age, person.role,
                person.created_by) == ("Kasper Fiktivsen", ["Kappe"], 15, "ung", activator.id)
    page = await (await client.get(response.headers["Location"])).text()
    assert "Involverede personer (1)" in page and "Kasper Fiktivsen" in page


async def test_a_bad_involved_age_on_the_activation_form_keeps_everything_typed(service):
    client, engine = service.client, service.engine
    activator = secretariat_member(engine)
    csrf = await signed_in(client, activator.id)
    data = shooting(noerrebro(engine), title="Uro ved skolen",
                    description="Flere unge samlet ved indgangen.")
    with Session(engine) as session:
        incidents_before = session.exec(select(func.count(Incident.id))).one()
    response = await client.post("/aktiver", allow_redirects=False, data=activation_fields(
        csrf, data, involved_name="Kasper Fiktivsen", involved_nicknames="Kappe",
        involved_age="x", involved_role="vidne"))
    assert response.status == 422
    page = await response.text()
    assert "Alder skal være et helt tal mellem 0 og 120" in page
    for kept in ('value="Uro ved skolen"', "Flere unge samlet ved indgangen.",
                 'value="Kasper Fiktivsen"', 'value="Kappe"', 'size="3" value="x"',
                 '<option value="vidne" selected>', f'value="{data["occurred_at"]}"'):
        assert kept in page, kept
    for code in data["areas"]:
        assert f'name="areas" value="{code}" checked' in page, code
    with Session(engine) as session:
        assert session.exec(select(func.count(Incident.id))).one() == incidents_before
