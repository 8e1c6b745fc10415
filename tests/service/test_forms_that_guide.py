"""Forms that guide: required fields marked, each Danish error next to its field (tied to it with
aria-describedby, the field aria-invalid) and in a summary linking to it, and nothing lost when a
form is rejected. And the confirmation step before an alert goes to more than 50 people: nothing
is written before the sender confirms, then it is sent exactly once."""
from __future__ import annotations

from sqlmodel import Session, func, select

from handleplaner import record
from handleplaner.directory import queries as directory
from handleplaner.incidents.models import Incident
from handleplaner.meetings.models import Meeting
from notifications.audiences import AudienceSpec, resolve
from notifications.models import Alert, Delivery

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting
from .page_parts import Page


async def sign_in(client, person_id: str) -> str:
    await demo_sign_in(client, person_id)
    page = await (await client.get("/aktiver")).text()
    return page.split('name="csrf" value="')[1].split('"')[0]


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def field_error(page: Page, field_id: str) -> str:
    """The error shown for a field, checked to be tied to it the accessible way."""
    attrs = page.by_id(field_id)
    assert attrs is not None, field_id
    assert attrs.get("aria-invalid") == "true", (field_id, attrs)
    message = page.described_error(field_id)
    assert message, (field_id, attrs)
    return message


async def incident(service, editor) -> dict:
    return await (await service.client.post("/api/incidents", headers={DEMO: editor.id},
                                            json=shooting(noerrebro(service.engine)))).json()


# Activation --------------------------------------------------------------------------------
async def test_activation_rejected_keeps_everything_and_shows_errors_by_the_fields(service):
    editor = secretariat_member(service.engine)
    csrf = await sign_in(service.client, editor.id)
    blank = Page(await (await service.client.get("/aktiver")).text())
    for name in ("incident_type", "title", "occurred_at", "description"):
        assert blank.by_id(name)["aria-required"] == "true" and "required" in blank.by_id(name)
    areas = noerrebro(service.engine)
    response = await service.client.post("/aktiver", data=[
        ("csrf", csrf), ("incident_type", "skyderi"), ("title", "x"),
        ("description", ""), ("severity", "varsling"), ("occurred_at", "2026-13-40T25:00"),
        *[("areas", code) for code in areas], ("exercise", "ja"), ("confidential", "ja")])
    assert response.status == 422
    html = await response.text()
    page = Page(html)
    # Every value is back: text, select, radio button, checkboxes.
    assert page.value("title") == "x" and page.value("occurred_at") == "2026-13-40T25:00"
    assert page.selected["incident_type"] == ["skyderi"]
    assert page.checked("severity") == {"varsling"}
    assert page.checked("areas") == set(areas)
    assert page.checked("exercise") == {"ja"} and page.checked("confidential") == {"ja"}
    # Errors in Danish, next to their fields, and in the summary as links to the fields.
    assert "for kort" in field_error(page, "title")
    assert "skal udfyldes" in field_error(page, "description")
    assert "tidspunkt" in field_error(page, "occurred_at")
    for field in ("title", "description", "occurred_at"):
        assert page.links_to(field)
    assert page.by_id("fejlresume")["role"] == "alert"
    assert "Felter markeret med" in html and 'aria-hidden="true"> *</span>' in html
    assert count(service.engine, Incident) == 0


async def test_activation_missing_areas_is_said_at_the_area_choice(service):
    editor = secretariat_member(service.engine)
    csrf = await sign_in(service.client, editor.id)
    data = shooting([])
    response = await service.client.post("/aktiver", data={**{k: v for k, v in data.items() if
                                                               k in ("incident_type", "title",
                                                                     "description", "severity",
                                                                     "occurred_at")},
                                                            "csrf": csrf})
    assert response.status == 422
    page = Page(await response.text())
    assert page.by_id("omraader")["aria-describedby"] == "fejl-areas"
    assert "mindst ét område" in page.texts["fejl-areas"]
    assert page.value("title") == data["title"] and page.textareas["description"] == data["description"]


# Compose an alert ---------------------------------------------------------------------------
async def test_compose_rejected_keeps_every_choice(service):
    editor = secretariat_member(service.engine)
    created = await incident(service, editor)
    csrf = await sign_in(service.client, editor.id)
    alerts = count(service.engine, Alert)
    url = f"/haendelser/{created['id']}/varsel"
    response = await service.client.post(url, data=[
        ("csrf", csrf), ("handling", "send"), ("kind", "opdatering"), ("text", "Hold øje i aften"),
        ("groups", "styregruppe"), ("groups", "sekretariat"), ("kinds", "ledergruppe"),
        ("whole_city", "ja"), ("authorities", "POL"), ("roles", "ssp-leder"),
        ("post_in_channels", "ja"), ("requires_ack", "ja"), ("quorum_per_authority", "mange"),
        ("escalate_after_minutes", "15")])
    assert response.status == 422
    page = Page(await response.text())
    assert page.selected["kind"] == ["opdatering"]
    assert page.textareas["text"] == "Hold øje i aften"
    assert page.checked("groups") == {"styregruppe", "sekretariat"}
    assert page.checked("kinds") == {"ledergruppe"} and page.checked("whole_city") == {"ja"}
    assert page.checked("authorities") == {"POL"} and page.checked("roles") == {"ssp-leder"}
    assert page.checked("post_in_channels") == {"ja"} and page.checked("requires_ack") == {"ja"}
    assert page.value("quorum_per_authority") == "mange"
    assert page.value("escalate_after_minutes") == "15"
    assert page.checked("severity") == set()
    # The missing severity is said at the radio buttons' group; the bad number at its field.
    assert "skal udfyldes" in page.texts["fejl-severity"]
    assert field_error(page, "quorum_per_authority")
    assert page.links_to("quorum_per_authority")
    assert count(service.engine, Alert) == alerts


async def test_compose_keeps_a_lone_whole_city_choice(service):
    editor = secretariat_member(service.engine)
    created = await incident(service, editor)
    csrf = await sign_in(service.client, editor.id)
    response = await service.client.post(f"/haendelser/{created['id']}/varsel", data={
        "csrf": csrf, "handling": "send", "kind": "besked", "severity": "varsling",
        "text": "Besked", "whole_city": "ja"})
    assert response.status == 422
    page = Page(await response.text())
    assert page.checked("whole_city") == {"ja"} and page.checked("severity") == {"varsling"}
    assert "modtagere" in page.texts["fejl-audience"].lower()


# The confirmation step ----------------------------------------------------------------------
def city_leaders(engine) -> int:
    with Session(engine) as session:
        return len(resolve(session, AudienceSpec(kinds=["ledergruppe"], whole_city=True)))


async def test_an_alert_to_more_than_50_waits_for_confirmation_then_goes_once(service):
    editor = secretariat_member(service.engine)
    created = await incident(service, editor)
    csrf = await sign_in(service.client, editor.id)
    many = city_leaders(service.engine)
    assert many > 50
    url = f"/haendelser/{created['id']}/varsel"
    before = count(service.engine, Alert), count(service.engine, Delivery)
    with Session(service.engine) as session:
        entries = record.count(session, created["id"])
    form = [("csrf", csrf), ("kind", "besked"), ("severity", "varsling"),
            ("text", "Alle ledergrupper: vær opmærksomme i weekenden"), ("kinds", "ledergruppe"),
            ("whole_city", "ja"), ("requires_ack", "ja")]

    response = await service.client.post(url, data=form + [("handling", "send")])
    assert response.status == 200
    html = await response.text()
    assert f"Varslet går til {many} personer – bekræft" in html
    assert "Bekræft og send" in html
    page = Page(html)
    carried = [pair for pair in page.hidden() if pair[0] not in ("csrf", "antal")]
    assert sorted(carried) == sorted(pair for pair in form if pair[0] != "csrf")
    assert ("antal", str(many)) in page.hidden()
    assert "Politi" in html or "POL" in html  # the count per authority
    # Nothing written yet.
    assert (count(service.engine, Alert), count(service.engine, Delivery)) == before
    with Session(service.engine) as session:
        assert record.count(session, created["id"]) == entries

    # Back to the form: everything kept.
    back = Page(await (await service.client.post(url, data=form + [("handling", "ret")])).text())
    assert back.checked("kinds") == {"ledergruppe"} and back.checked("whole_city") == {"ja"}
    assert back.textareas["text"] == dict(form)["text"]
    assert (count(service.engine, Alert), count(service.engine, Delivery)) == before

    # A count that no longer matches asks again.
    again = await service.client.post(url, data=form + [("handling", "bekraeft"), ("antal", "3")])
    assert again.status == 200 and "Bekræft igen" in await again.text()
    assert count(service.engine, Alert) == before[0]

    # Confirmed: sent, once — a second click is the same alert.
    confirmed = form + [("handling", "bekraeft"), ("antal", str(many))]
    for _ in range(2):
        response = await service.client.post(url, data=confirmed, allow_redirects=False)
        assert response.status == 303
    assert count(service.engine, Alert) == before[0] + 1
    with Session(service.engine) as session:
        alert = session.exec(select(Alert).order_by(Alert.id.desc())).first()
        people = set(session.exec(select(Delivery.person_id).where(Delivery.alert_id == alert.id)))
    assert len(people) == many


async def test_an_alert_to_50_or_fewer_goes_without_the_step(service):
    editor = secretariat_member(service.engine)
    created = await incident(service, editor)
    csrf = await sign_in(service.client, editor.id)
    before = count(service.engine, Alert)
    response = await service.client.post(f"/haendelser/{created['id']}/varsel", allow_redirects=False,
                                         data={"csrf": csrf, "handling": "send", "kind": "besked",
                                               "severity": "varsling", "text": "Til styregruppen",
                                               "groups": "styregruppe"})
    assert response.status == 303, await response.text()
    assert count(service.engine, Alert) == before + 1


async def test_activation_for_more_than_the_limit_waits_for_confirmation(service):
    service.services.settings.alert_confirm_above = 10  # the demo's Nørrebro alert goes to 14
    editor = secretariat_member(service.engine)
    csrf = await sign_in(service.client, editor.id)
    areas = noerrebro(service.engine)
    data = shooting(areas)
    form = [("csrf", csrf), ("incident_type", data["incident_type"]), ("title", data["title"]),
            ("description", data["description"]), ("severity", "akut"),
            ("occurred_at", data["occurred_at"]), ("exercise", "ja"),
            *[("areas", code) for code in areas]]
    response = await service.client.post("/aktiver", data=form)
    html = await response.text()
    assert response.status == 200 and "personer – bekræft" in html and "ØVELSE" in html
    page = Page(html)
    antal = dict(page.hidden())["antal"]
    assert int(antal) > 10
    assert sorted(p for p in page.hidden() if p[0] not in ("csrf", "antal")) == sorted(form[1:])
    assert count(service.engine, Incident) == 0 and count(service.engine, Alert) == 0

    back = Page(await (await service.client.post("/aktiver", data=form + [("handling", "ret")])).text())
    assert back.value("title") == data["title"] and back.checked("areas") == set(areas)
    assert back.checked("exercise") == {"ja"}
    assert count(service.engine, Incident) == 0

    response = await service.client.post("/aktiver", allow_redirects=False,
                                         data=form + [("handling", "bekraeft"), ("antal", antal)])
    assert response.status == 303
    assert count(service.engine, Incident) == 1 and count(service.engine, Alert) == 1


async def test_activation_for_50_or_fewer_goes_at_once(service):
    editor = secretariat_member(service.engine)
    csrf = await sign_in(service.client, editor.id)
    data = shooting(noerrebro(service.engine))
    response = await service.client.post("/aktiver", allow_redirects=False, data=[
        ("csrf", csrf), *[(k, v) for k, v in data.items() if isinstance(v, str)],
        *[("areas", code) for code in data["areas"]]])
    assert response.status == 303
    assert count(service.engine, Incident) == 1


# The plan -----------------------------------------------------------------------------------
async def test_plan_forms_keep_what_was_typed(service):
    client = service.client
    editor = secretariat_member(service.engine)
    created = await incident(service, editor)
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers={DEMO: editor.id},
                                    json={"template": "skyderi"})).json()
    csrf = await sign_in(client, editor.id)
    url = f"/haendelser/{created['id']}/plan"
    with Session(service.engine) as session:
        officer = next(p for p in directory.list_people(session, authority="KFF") if p.active)
    typed = {"csrf": csrf, "handling": "tilfoej", "title": "Ekstra aktivitet i klubben",
             "measure_type": "ekstra-aktiviteter", "authority": "KFF", "responsible": officer.id,
             "starts_at": "2030-01-01T10:00", "ends_at": "2030-01-01T12:00", "status": "i_gang",
             "description": "Åben hal fredag", "notes": "Nøgle hos pedellen", "confidential": "ja"}
    response = await client.post(url, data=typed)
    assert response.status == 422
    page = Page(await response.text())
    assert page.by_id("ny-title")["value"] == typed["title"]
    assert page.by_id("ny-responsible")["value"] == officer.id
    assert page.by_id("ny-starts_at")["value"] == typed["starts_at"]
    assert page.selected["measure_type"][-1] == "ekstra-aktiviteter"
    assert "KFF" in page.selected["authority"] and "i_gang" in page.selected["status"]
    assert page.textareas["description"] == "Åben hal fredag"
    assert page.textareas["notes"] == "Nøgle hos pedellen"
    assert "checked" in page.by_id("ny-confidential")
    assert "uden for planens periode" in field_error(page, "ny-ends_at")
    assert page.links_to("ny-ends_at")

    # Editing a measure: the measure's own form shows what was typed and the error.
    key = plan["measures"][0]["key"]
    response = await client.post(url, data={**typed, "handling": "ret", "key": key,
                                             "title": "Ny titel", "starts_at": "2030-01-01T10:00",
                                             "ends_at": "2030-01-01T09:00"})
    assert response.status == 422
    html = await response.text()
    page = Page(html)
    assert page.by_id(f"ret-{key}-title")["value"] == "Ny titel"
    assert "slut skal ligge efter start" in field_error(page, f"ret-{key}-ends_at")
    assert page.by_id("ny-title")["value"] == ""  # the other forms are as they were

    # Extending without a reason: both fields kept, the error by the reason.
    response = await client.post(url, data={"csrf": csrf, "handling": "forlaeng",
                                            "new_end": "2031-01-01T10:00", "reason": ""})
    assert response.status == 422
    page = Page(await response.text())
    assert page.by_id("forlaeng-new_end")["value"] == "2031-01-01T10:00"
    assert field_error(page, "forlaeng-reason") == "Begrundelse skal udfyldes"
    assert page.by_id("forlaeng-reason")["aria-required"] == "true"


# The meeting --------------------------------------------------------------------------------
async def test_meeting_call_rejected_keeps_everything(service):
    client = service.client
    editor = secretariat_member(service.engine)
    created = await incident(service, editor)
    csrf = await sign_in(client, editor.id)
    with Session(service.engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    url = f"/haendelser/{created['id']}/moede"
    response = await client.post(url, data=[
        ("csrf", csrf), ("handling", "indkald"), ("starts_at", "2030-05-01T09:30"),
        ("duration_minutes", "90"), ("location", ""),
        ("ekstern", ""), ("ekstern", external.id), ("ekstern", ""),
        ("grund_0", ""), ("grund_1", ""), ("grund_2", "")])
    assert response.status == 422
    page = Page(await response.text())
    assert page.by_id("indkald-starts_at")["value"] == "2030-05-01T09:30"
    assert page.by_id("indkald-duration_minutes")["value"] == "90"
    assert "checked" not in page.by_id("indkald-online")  # left unticked: kept unticked
    assert page.selected["ekstern"] == [external.id]
    # The error for the second external party is at its reason, not the first's.
    assert "konkret vurdering" in field_error(page, "indkald-grund_1")
    assert page.by_id("indkald-grund_0").get("aria-invalid") is None
    assert "mødested" in field_error(page, "indkald-location")
    assert page.links_to("indkald-grund_1") and page.links_to("indkald-location")
    assert count(service.engine, Meeting) == 0

    response = await client.post(url, data={"csrf": csrf, "handling": "indkald", "online": "ja",
                                            "duration_minutes": "en time"})
    assert response.status == 422
    page = Page(await response.text())
    assert "helt antal minutter" in field_error(page, "indkald-duration_minutes")
    assert page.by_id("indkald-duration_minutes")["value"] == "en time"
