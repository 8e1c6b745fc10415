"""A person who blocked or uninstalled the bot in Teams: Teams refuses the proactive message with
403 and subCode MessageWritesBlocked
(https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages,
section "Understand who blocked, muted, or uninstalled a bot"). The service shows the failed Teams
delivery with its reason, does not retry it, and e-mails the person at once."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from handleplaner import record
from handleplaner.directory import queries as directory
from notifications.models import Delivery, DeliveryAttempt

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting


def teams_first_member(engine):
    """A styregruppe member whose first channel is Teams and who has an e-mail address."""
    with Session(engine) as session:
        return next(p for p in directory.group_members(session, "styregruppe")
                    if p.channel_list and p.channel_list[0] == "teams" and p.email
                    and p.teams_user_id)


@pytest.mark.parametrize("how", ["block", "uninstall"])
async def test_blocked_bot_fails_teams_at_once_and_mails_the_person(service, how):
    sender = secretariat_member(service.engine)
    response = await service.client.post("/api/incidents", headers={DEMO: sender.id},
                                         json=shooting(noerrebro(service.engine)))
    incident_id = (await response.json())["id"]
    await service.services.worker.run_until_idle(timeout=120)
    person = teams_first_member(service.engine)
    emulator = service.emulator
    removed = await service.client.session.post(
        f"{emulator.base_url}/_emulator/chats/{person.teams_user_id}/{how}")
    assert removed.status == 200
    mails_before = len(emulator.mailboxes.get(person.email.lower(), []))

    # A Varsling goes on the first channel only (Teams for this person), with escalation on
    # silence after an hour: the fall-back to e-mail must not wait for it.
    response = await service.client.post(
        f"/api/incidents/{incident_id}/alerts", headers={DEMO: sender.id},
        json={"severity": "varsling", "text": "Møde kl. 14", "requires_ack": True,
              "escalate_after_minutes": 60, "audience": {"groups": ["styregruppe"]}})
    assert response.status == 201, await response.text()
    alert_id = (await response.json())["id"]
    await service.services.worker.run_until_idle(timeout=120)

    with Session(service.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.alert_id == alert_id,
                                                        Delivery.person_id == person.id)))
        teams = next(d for d in rows if d.channel == "teams")
        attempts = list(session.exec(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == teams.id)))
        entries = [e for e in record.entries(session, incident_id)
                   if e.action == "varsel.naeste_kanal"]
    # Failed for good on the first answer: 403 is not retried.
    assert teams.state == "fejlet" and teams.attempts == 1
    assert [a.status_code for a in attempts] == [403]
    assert "blokeret eller fjernet botten i Teams" in teams.last_error
    # E-mailed at once, at the same escalation level (not an escalation step).
    [email] = [d for d in rows if d.channel == "email"]
    assert email.state == "sendt" and email.escalation_level == teams.escalation_level == 0
    assert len(emulator.mailboxes[person.email.lower()]) == mails_before + 1
    assert len(entries) == 1 and person.name in entries[0].summary

    # The incident's deliveries (API and page) show the Teams failure with its reason in Danish.
    listed = await (await service.client.get(f"/api/incidents/{incident_id}/deliveries",
                                             headers={DEMO: sender.id})).json()
    [mine] = [r for r in listed if r["delivery_id"] == teams.id]
    assert mine["state_label"] == "Fejlet" and "blokeret eller fjernet botten" in mine["last_error"]
    await demo_sign_in(service.client, sender.id)
    html = await (await service.client.get(f"/haendelser/{incident_id}")).text()
    assert "Personen har blokeret eller fjernet botten i Teams" in html


async def test_a_person_who_allows_the_bot_again_gets_teams_again(service):
    """Unblocked: the next alert goes by Teams again (the block is not remembered as a fault)."""
    sender = secretariat_member(service.engine)
    response = await service.client.post("/api/incidents", headers={DEMO: sender.id},
                                         json=shooting(noerrebro(service.engine)))
    incident_id = (await response.json())["id"]
    person = teams_first_member(service.engine)
    base = f"{service.emulator.base_url}/_emulator/chats/{person.teams_user_id}/block"
    await service.client.session.post(base)
    await service.client.session.delete(base)
    response = await service.client.post(
        f"/api/incidents/{incident_id}/alerts", headers={DEMO: sender.id},
        json={"severity": "varsling", "text": "Møde kl. 15", "audience": {"groups": ["styregruppe"]}})
    alert_id = (await response.json())["id"]
    await service.services.worker.run_until_idle(timeout=120)
    with Session(service.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.alert_id == alert_id,
                                                        Delivery.person_id == person.id)))
    assert [(d.channel, d.state) for d in rows] == [("teams", "sendt")]
