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
        assert entry.action == FULL_SHARING and "tryghedsvandringer" in entry.summary

    later = (datetime.fromisoformat(meeting["starts_at"]) + timedelta(hours=1)).isoformat()
    moved = await client.post(f"/api/meetings/{meeting['id']}/change", headers=headers,
                              json={"starts_at": later})
    assert moved.status == 200
    await service.services.worker.run_until_idle(timeout=60)
    assert TITLE in texts_of(emulator.mailboxes[external.email][-1])
