"""A party outside the SSP parties (Team Sikker By) invited to the beredskabsmøde gets the
shareable invitation - no title, no agenda texts - until the secretariat records a § 115 reason
for sharing more with it; then the full one."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from handleplaner import record
from handleplaner.directory import queries as directory
from handleplaner.privacy.parties import (FULL_SHARING, SharingInvalid, record_full_sharing,
                                          shares_full)
from handleplaner.storage import transaction

from .helpers import DEMO, noerrebro, secretariat_member, shooting

TITLE = "Skud mod opgang ved Mimersgade"


def texts_of(mail) -> str:
    return mail["subject"] + " " + str(mail["body"].get("content", ""))


async def test_external_invitee_gets_the_shareable_invitation_until_a_reason_is_recorded(service):
    client, emulator = service.client, service.emulator
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers, json=shooting(
        noerrebro(service.engine), title=TITLE))).json()
    with Session(service.engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
        fixed_mail_only = [p for p in directory.list_people(session, authority="SOF")
                           if not p.teams_user_id]
        assert not shares_full(session, created["id"], external)
        assert shares_full(session, created["id"], "POL") and shares_full(session, created["id"], "KRIM")
    response = await client.post(f"/api/incidents/{created['id']}/meetings", headers=headers, json={
        "online": True, "externals": [{"person_id": external.id, "reason": "Boligområdet"}]})
    meeting = await response.json()
    assert response.status == 201, meeting
    await service.services.worker.run_until_idle(timeout=60)

    (mail,) = emulator.mailboxes[external.email]
    assert "Beredskabsmøde" in mail["subject"] and "invitation.ics" in str(mail["attachments"])
    assert TITLE not in texts_of(mail)  # neither the title nor the agenda's texts
    assert "Situationsbillede" in texts_of(mail)
    # The Teams event (everyone in Microsoft 365 gets one body) is full: TSB is not in it.
    for person in fixed_mail_only[:1]:
        assert any(TITLE in texts_of(m) for m in emulator.mailboxes.get(person.email, []))

    # A reason must be given, by the secretariat; then it is recorded with the reason.
    with Session(service.engine) as session:
        leader = next(p for p in directory.list_people(session, authority="POL"))
    for actor, authority, reason, field in ((editor.id, "TSB", " ", "reason"),
                                            (editor.id, "POL", "x", "authority"),
                                            (leader.id, "TSB", "Tryghed", "_")):
        try:
            with transaction(service.engine) as session:
                record_full_sharing(session, incident_id=created["id"], authority_code=authority,
                                    reason=reason, actor_id=actor)
        except SharingInvalid as invalid:
            assert field in invalid.errors
        else:
            raise AssertionError(f"{authority} {reason!r} was accepted")
    with transaction(service.engine) as session:
        record_full_sharing(session, incident_id=created["id"], authority_code="TSB",
                            reason="Team Sikker By koordinerer tryghedsvandringer i opgangen",
                            actor_id=editor.id)
    with Session(service.engine) as session:
        assert shares_full(session, created["id"], external)
        entry = record.entries(session, created["id"])[-1]
        assert entry.action == FULL_SHARING and "tryghedsvandringer" in record.readable(session, entry)
        # the reason is the entry's personal part: encrypted, not in its clear text
        assert "tryghedsvandringer" not in entry.summary + entry.data + entry.detail

    later = (datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=1)).isoformat()
    moved = await client.post(f"/api/meetings/{meeting['id']}/change", headers=headers,
                              json={"starts_at": later})
    assert moved.status == 200
    await service.services.worker.run_until_idle(timeout=60)
    assert TITLE in texts_of(emulator.mailboxes[external.email][-1])


DESCRIPTION = "Skud mod opgangen; Kasper Fiktivsen blev ramt i benet."
NOTE = "Samtale med Lone Fiktivsen om sønnen"


async def test_external_invitee_sees_the_shareable_incident_and_plan_until_a_reason(service):
    from .helpers import demo_sign_in

    client, engine = service.client, service.engine
    editor = secretariat_member(engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers, json=shooting(
        noerrebro(engine), title=TITLE, description=DESCRIPTION))).json()
    incident_id = created["id"]
    await client.post(f"/api/incidents/{incident_id}/involved", headers=headers,
                      json={"name": "Kasper Fiktivsen"})
    plan = await (await client.post(f"/api/incidents/{incident_id}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    key = plan["measures"][0]["key"]
    changed = await client.patch(f"/api/plans/{plan['id']}/measures/{key}", headers=headers,
                                 json={"notes": NOTE})
    assert changed.status == 200, await changed.text()
    sent = await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    assert sent.status in (200, 201), await sent.text()
    with Session(engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    invited = await client.post(f"/api/incidents/{incident_id}/meetings", headers=headers,
                                json={"online": True, "externals": [
                                    {"person_id": external.id, "reason": "Boligområdet"}]})
    assert invited.status == 201, await invited.text()
    title = plan["measures"][0]["title"]

    await demo_sign_in(client, external.id)
    incident_page = await client.get(f"/haendelser/{incident_id}")
    plan_page = await client.get(f"/haendelser/{incident_id}/plan")
    document = await client.get(f"/planer/{plan['id']}/versioner/1")
    api_incident = await (await client.get(f"/api/incidents/{incident_id}",
                                           headers={DEMO: external.id})).json()
    assert (incident_page.status, plan_page.status, document.status) == (200, 200, 200)
    shown = [await incident_page.text(), await plan_page.text(), await document.text()]
    for text in shown:
        assert "Kasper Fiktivsen" not in text and "Lone Fiktivsen" not in text
        assert "Involverede personer" not in text
    assert "versionen uden personoplysninger" in shown[0]
    assert title in shown[1] and "Team Sikker By-versionen" in shown[1]  # measures are shared
    assert api_incident["description"] == ""

    with transaction(engine) as session:
        record_full_sharing(session, incident_id=incident_id, authority_code="TSB",
                            reason="Team Sikker By koordinerer indsatsen i opgangen",
                            actor_id=editor.id)
    shown = [await (await client.get(path)).text() for path in (
        f"/haendelser/{incident_id}", f"/haendelser/{incident_id}/plan",
        f"/planer/{plan['id']}/versioner/1")]
    assert DESCRIPTION in shown[0]
    assert NOTE in shown[2]  # the full document (the plan page shows notes only to editors)
    assert "Team Sikker By-versionen" not in shown[1] and title in shown[1]
    assert "Involverede personer" not in shown[0]  # still not theirs to read (the activator's)


async def test_task_cards_to_an_external_party_carry_only_the_shareable_measures(service):
    client, engine, emulator = service.client, service.engine, service.emulator
    editor = secretariat_member(engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers, json=shooting(
        noerrebro(engine), title=TITLE))).json()
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    with Session(engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    first = plan["measures"][0]
    for title, confidential in (("Tryghedsvandring i opgangen", False),
                                ("Fortroligt: samtale i familien på 3. sal", True)):
        added = await client.post(f"/api/plans/{plan['id']}/measures", headers=headers, json={
            "title": title, "measure_type": first["measure_type"], "authority": "TSB",
            "responsible": external.id, "starts_at": first["starts_at"],
            "ends_at": first["ends_at"], "confidential": confidential})
        assert added.status == 201, await added.text()

    async def sent_to_external() -> str:
        await service.services.worker.run_until_idle(timeout=120)
        texts = [texts_of(m) for m in emulator.mailboxes.get(external.email, [])]
        if external.teams_user_id:
            texts += [str(e["activity"]) for e in emulator.chats.get(external.teams_user_id, [])]
        return " ".join(texts)

    sent = await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    assert sent.status in (200, 201), await sent.text()
    received = await sent_to_external()
    assert "Tryghedsvandring i opgangen" in received
    assert "samtale i familien" not in received

    with transaction(engine) as session:
        record_full_sharing(session, incident_id=created["id"], authority_code="TSB",
                            reason="Team Sikker By følger familien op sammen med SOF",
                            actor_id=editor.id)
    changed = await client.patch(f"/api/plans/{plan['id']}/measures/{first['key']}",
                                 headers=headers, json={"notes": "Ændret"})
    assert changed.status == 200
    sent = await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    assert sent.status in (200, 201), await sent.text()
    assert "samtale i familien" in await sent_to_external()
