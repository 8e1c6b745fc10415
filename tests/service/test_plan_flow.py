"""The plan through the service: drafted and sent over the API, approved by the chair with the
signed Godkend action on the Teams card, mailed with its PDF, and shared with Team Sikker By only
when no personal data is found."""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.plans import service as plans
from notifications.models import Alert

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting


async def test_draft_send_approve_by_card_and_share_without_personal_data(service):
    client, emulator = service.client, service.emulator
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers,
                                       json=shooting(noerrebro(service.engine)))).json()
    templates = await (await client.get("/api/plan-templates?incident_type=skyderi",
                                        headers=headers)).json()
    assert [t["code"] for t in templates] == ["skyderi"]
    response = await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                 json={"template": "skyderi", "period_days": 14})
    plan = await response.json()
    assert response.status == 201, plan
    response = await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    sent = await response.json()
    assert response.status == 201, sent
    await service.services.worker.run_until_idle(timeout=120)

    with Session(service.engine) as session:
        members = plans.styregruppe(session)
        chair_id = plans.styregruppe_chair(session)
    chair = next(m for m in members if m.id == chair_id)
    # The email carries the PDF.
    mail = next(m for m in emulator.mailboxes[chair.email] if "Til godkendelse" in m["subject"])
    assert "handleplan-v1.pdf" in str(mail.get("attachments"))
    # The card has Godkend / Afvis / Kommentér; the chair approves in Teams.
    entry = next(e for e in emulator.chats[chair.teams_user_id]
                 if any(a.get("verb") == "godkend"
                        for a in e["activity"]["attachments"][0]["content"]["actions"]))
    status, answer = await emulator.send_to_bot(
        chair.teams_user_id, reply_to_id=entry["id"],
        invoke_value={"action": {"type": "Action.Execute", "verb": "godkend",
                                 "data": {"version_id": sent["version_id"], "comment": "Fint"}}})
    assert status == 200 and answer["statusCode"] == 200, answer
    replaced = emulator.chats[chair.teams_user_id]
    texts = str([e["activity"] for e in replaced if e["id"] == entry["id"]])
    assert "Planen er godkendt" in texts
    version = await (await client.get(f"/api/plans/{plan['id']}/versions/1", headers=headers)).json()
    assert version["snapshot"]["approval"]["state"] == "godkendt"
    assert version["snapshot"]["approval"]["decisions"][0]["comment"] == "Fint"

    # Documents.
    pdf = await client.get(f"/planer/{plan['id']}/versioner/1.pdf", headers=headers)
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
    full = await (await client.get(f"/planer/{plan['id']}/versioner/1", headers=headers)).text()
    safe = await (await client.get(f"/planer/{plan['id']}/versioner/1/sikkerby",
                                   headers=headers)).text()
    responsible = [m["responsible"]["name"] for m in version["snapshot"]["measures"]
                   if m["responsible"]]
    assert responsible and responsible[0] in full and responsible[0] not in safe

    # Shared with Team Sikker By: the guard passes, the mail goes out with the safe version.
    response = await client.post(f"/api/plans/{plan['id']}/versions/1/sikkerby", headers=headers)
    assert response.status == 201, await response.text()
    await service.services.worker.run_until_idle(timeout=60)
    with Session(service.engine) as session:
        shared = session.exec(select(Alert).where(Alert.kind == "sikkerby")).one()
    assert shared.plan_version_id == sent["version_id"]


async def test_a_cpr_number_in_free_text_stops_the_sikker_by_version(service):
    client = service.client
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers,
                                       json=shooting(noerrebro(service.engine)))).json()
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    key = plan["measures"][0]["key"]
    response = await client.patch(f"/api/plans/{plan['id']}/measures/{key}", headers=headers,
                                  json={"title": "Samtale med ung (cpr 010203-1234) og familie"})
    assert response.status == 200, await response.text()
    await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    response = await client.post(f"/api/plans/{plan['id']}/versions/1/sikkerby", headers=headers)
    assert response.status == 403
    assert "CPR-nummer fundet" in (await response.json())["fejl"]
    page = await client.get(f"/planer/{plan['id']}/versioner/1/sikkerby", headers=headers)
    assert page.status == 409
    with Session(service.engine) as session:
        assert session.exec(select(Alert).where(Alert.kind == "sikkerby")).first() is None


async def test_plan_api_refusals(service):
    client = service.client
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers,
                                       json=shooting(noerrebro(service.engine)))).json()
    response = await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                 json={"template": "findes-ikke"})
    assert response.status == 422 and "ukendt skabelon" in (await response.json())["felter"]["template"]
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    response = await client.post(f"/api/plans/{plan['id']}/measures", headers=headers, json={
        "title": "X", "measure_type": "ukendt", "authority": "XYZ",
        "starts_at": "i morgen", "ends_at": plan["period"]["end"]})
    body = await response.json()
    assert response.status == 422
    assert {"title", "measure_type", "starts_at"} <= set(body["felter"])


async def test_plan_pages_draft_edit_send_and_decide(service):
    client = service.client
    editor = secretariat_member(service.engine)
    created = await (await client.post("/api/incidents", headers={DEMO: editor.id},
                                       json=shooting(noerrebro(service.engine)))).json()
    await demo_sign_in(client, editor.id)
    url = f"/haendelser/{created['id']}/plan"
    page = await (await client.get(url)).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert "Udarbejd fra skabelon" in page
    response = await client.post(url, data={"csrf": csrf, "handling": "udarbejd",
                                            "template": "skyderi", "period_days": "7"},
                                 allow_redirects=False)
    assert response.status == 303
    page = await (await client.get(url)).text()
    assert "Synlig patruljering" in page or "patrulj" in page.lower()
    # A measure outside the period is refused on the page, with what was typed kept.
    response = await client.post(url, data={
        "csrf": csrf, "handling": "tilfoej", "title": "Ekstra aktivitet i klubben",
        "measure_type": "ekstra-aktiviteter", "authority": "KFF", "starts_at": "2030-01-01T10:00",
        "ends_at": "2030-01-01T12:00", "status": "planlagt"})
    assert response.status == 422
    body = await response.text()
    assert "uden for planens periode" in body and "Ekstra aktivitet i klubben" in body
    response = await client.post(url, data={"csrf": csrf, "handling": "send", "rule": "et-medlem"},
                                 allow_redirects=False)
    assert response.status == 303
    with Session(service.engine) as session:
        member = plans.styregruppe(session)[0]
    await demo_sign_in(client, member.id)
    page = await (await client.get(url)).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    version_id = page.split('name="version_id" value="')[1].split('"')[0]
    response = await client.post(url, data={"csrf": csrf, "handling": "beslut",
                                            "version_id": version_id, "decision": "godkend"},
                                 allow_redirects=False)
    assert response.status == 303
    page = await (await client.get(url)).text()
    assert "Version 1: Godkendt" in page


async def test_a_planned_event_with_a_bad_number_of_days_is_refused_by_field(service):
    """Found by the fuzz run: a list for days_before gave a server error."""
    headers = {DEMO: secretariat_member(service.engine).id}
    for bad in ([1], "fire", True, 400):
        response = await service.client.post("/api/planned-events", headers=headers, json={
            "template": "planlagt", "title": "Fodboldkamp", "event_at": "2026-12-24T18:00",
            "whole_city": True, "days_before": bad})
        assert response.status == 422, bad
        assert "days_before" in (await response.json())["felter"]
