"""Commitments pressed in Teams: signed adaptiveCard/action invokes as Teams sends them."""
from __future__ import annotations

import json

from sqlmodel import Session, select

from handleplaner import record
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting


async def sent_plan(service):
    client = service.client
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers,
                                       json=shooting(noerrebro(service.engine)))).json()
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    sent = await (await client.post(f"/api/plans/{plan['id']}/send", headers=headers,
                                    json={})).json()
    await service.services.worker.run_until_idle(timeout=120)
    return editor, created, plan, sent


def task_card(service, person):
    """The person's newest task card in Teams: (activity id, card)."""
    for entry in reversed(service.emulator.chats[person.teams_user_id]):
        card = entry["activity"]["attachments"][0]["content"] if entry["activity"].get("attachments") else {}
        if "Opgaver for" in str(card.get("body", [{}])[0]):
            return entry["id"], card
    raise AssertionError("no task card")


async def press(service, person, activity_id, verb, data):
    return await service.emulator.send_to_bot(person.teams_user_id, reply_to_id=activity_id,
                                              invoke_value={"action": {"type": "Action.Execute",
                                                                       "verb": verb, "data": data}})


def commitment(engine, commitment_id) -> Commitment:
    with Session(engine) as session:
        return session.get(Commitment, commitment_id)


async def test_confirm_decline_handover_twice_stranger_and_superseded(service):
    editor, created, plan, sent = await sent_plan(service)
    with Session(service.engine) as session:
        rows = list(session.exec(select(Commitment).where(Commitment.plan_id == plan["id"])))
        pol = next(c for c in rows if c.authority_code == "POL" and c.responsible_id)
        leader = directory.get_person(session, pol.responsible_id)
        stranger = next(p for p in directory.list_people(session)
                        if p.teams_user_id and p.id != leader.id and p.authority_code == "SOF")
    activity_id, card = task_card(service, leader)
    data = {"commitment_id": pol.id, "version_id": sent["version_id"]}

    # Decline without a reason: refused, nothing changes.
    status, answer = await press(service, leader, activity_id, "afvis", dict(data))
    assert answer["statusCode"] == 403 and "begrundelse" in answer["value"]["message"]
    assert commitment(service.engine, pol.id).state == "afventer"

    # Accept; the card comes back updated; the same press again changes nothing.
    status, answer = await press(service, leader, activity_id, "bekraeft", dict(data))
    assert answer["statusCode"] == 200
    assert "Bekræftet" in str(answer["value"])
    confirmed = commitment(service.engine, pol.id)
    assert confirmed.state == "bekraeftet" and confirmed.confirmed_by == leader.id
    with Session(service.engine) as session:
        before = record.count(session, created["id"], "opgave.bekraeftet")
    status, answer = await press(service, leader, activity_id, "bekraeft", dict(data))
    assert answer["statusCode"] == 200
    with Session(service.engine) as session:
        assert record.count(session, created["id"], "opgave.bekraeftet") == before == 1

    # Someone else presses: refused, and the refusal is recorded.
    status, answer = await press(service, stranger, activity_id, "udfoert", dict(data))
    assert answer["statusCode"] == 403 and leader.name in answer["value"]["message"]
    with Session(service.engine) as session:
        assert record.count(session, created["id"], "opgave.tryk_afvist") == 1
    assert commitment(service.engine, pol.id).state == "bekraeftet"

    # Hand over to the deputy: the deputy now owns it and must confirm.
    with Session(service.engine) as session:
        deputy = directory.deputy_of(session, leader.id)
    status, answer = await press(service, leader, activity_id, "videregiv",
                                 dict(data, **{f"til_{pol.id}": deputy.id}))
    assert answer["statusCode"] == 200
    handed = commitment(service.engine, pol.id)
    assert (handed.state, handed.responsible_id) == ("videregivet", deputy.id)

    # A new version supersedes the card: a press on the old one is told which is current.
    headers = {DEMO: editor.id}
    key = plan["measures"][0]["key"]
    await service.client.patch(f"/api/plans/{plan['id']}/measures/{key}", headers=headers,
                               json={"notes": "Ny note"})
    second = await (await service.client.post(f"/api/plans/{plan['id']}/send", headers=headers,
                                              json={})).json()
    assert second["number"] == 2
    status, answer = await press(service, deputy, activity_id, "bekraeft", dict(data))
    assert answer["statusCode"] == 409 and "Version 2 er den gældende" in answer["value"]["message"]
    status, answer = await press(service, deputy, activity_id, "bekraeft",
                                 dict(data, version_id=second["version_id"]))
    assert answer["statusCode"] == 200
    assert commitment(service.engine, pol.id).state == "bekraeftet"


async def test_every_task_card_is_a_valid_adaptive_card(service):
    from tests.notifications.test_cards import assert_valid_card

    await sent_plan(service)
    cards = [e["activity"]["attachments"][0]["content"]
             for entries in service.emulator.chats.values() for e in entries
             if e["activity"].get("attachments")]
    assert any("Opgaver for" in str(c) for c in cards)
    for card in cards:
        assert_valid_card(card)


async def test_typed_commands_status_my_tasks_help_and_strangers(service):
    editor, created, plan, sent = await sent_plan(service)
    emulator = service.emulator
    with Session(service.engine) as session:
        c = session.exec(select(Commitment).where(Commitment.plan_id == plan["id"],
                                                  Commitment.responsible_id.is_not(None))).first()
        leader = directory.get_person(session, c.responsible_id)

    await emulator.send_to_bot(leader.teams_user_id, text="status")
    reply = emulator.chats[leader.teams_user_id][-1]["activity"]
    assert created["reference"] in reply["text"] and "Åbne hændelser" in reply["text"]

    await emulator.send_to_bot(leader.teams_user_id, text="Mine opgaver")
    entry = emulator.chats[leader.teams_user_id][-1]
    card = entry["activity"]["attachments"][0]["content"]
    assert "Mine opgaver" in str(card) and c.title in str(card)
    status, answer = await press(service, leader, entry["id"], "bekraeft",
                                 {"commitment_id": c.id, "version_id": sent["version_id"]})
    assert answer["statusCode"] == 200
    assert commitment(service.engine, c.id).state == "bekraeftet"

    await emulator.send_to_bot(leader.teams_user_id, text="hvad så")
    assert "Det forstår jeg ikke" in emulator.chats[leader.teams_user_id][-1]["activity"]["text"]
    await emulator.send_to_bot(leader.teams_user_id, text="hjælp")
    assert "'mine opgaver'" in emulator.chats[leader.teams_user_id][-1]["activity"]["text"]

    stranger = "00000000-0000-4000-8000-00000000beef"
    await emulator.send_to_bot(stranger, text="status")
    assert "findes ikke i SSP Beredskabs organisationsoversigt" in \
        emulator.chats[stranger][-1]["activity"]["text"]


async def test_commands_work_with_a_mention_and_the_info_pages_exist(service):
    editor = secretariat_member(service.engine)
    await service.emulator.send_to_bot(editor.teams_user_id, text="<at>SSP Beredskab</at> hjælp")
    assert "'mine opgaver'" in service.emulator.chats[editor.teams_user_id][-1]["activity"]["text"]
    for side in ("om", "privatliv", "vilkaar"):
        response = await service.client.get(f"/{side}")
        assert response.status == 200 and "SSP" in await response.text()


async def test_board_shows_everything_streams_changes_and_takes_reports_on_the_web(service):
    editor, created, plan, sent = await sent_plan(service)
    client = service.client
    rows = await (await client.get(f"/api/incidents/{created['id']}/commitments",
                                   headers={DEMO: editor.id})).json()
    assert rows and {"authority", "leader", "state", "confirmed", "ends_at", "overdue"} <= set(rows[0])
    target = next(r for r in rows if r["leader"])
    await demo_sign_in(client, target["leader"]["id"])
    page = await (await client.get(f"/haendelser/{created['id']}/opgaver")).text()
    assert target["title"] in page and "Bekræft" in page
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    response = await client.post(f"/haendelser/{created['id']}/opgaver", allow_redirects=False,
                                 data={"csrf": csrf, "commitment_id": str(target["commitment_id"]),
                                       "handling": "afvis", "grund": ""})
    assert "begrundelse" in response.headers["Location"].lower() or "Skriv" in response.headers["Location"]
    response = await client.post(f"/haendelser/{created['id']}/opgaver", allow_redirects=False,
                                 data={"csrf": csrf, "commitment_id": str(target["commitment_id"]),
                                       "handling": "bekraeft"})
    assert response.status == 303
    stream = await client.get(f"/haendelser/{created['id']}/opgaver/stroem?runder=1")
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    text = (await stream.read()).decode()
    assert text.startswith("event: tavle\ndata: ")
    data = json.loads(text.split("data: ", 1)[1].strip())
    confirmed = next(r for r in data if r["commitment_id"] == target["commitment_id"])
    assert confirmed["state"] == "bekraeftet" and confirmed["confirmed_by"] == target["leader"]["id"]


async def test_task_cards_refresh_by_themselves_for_their_leaders(service):
    """Teams refreshes a card automatically only for the users whose Teams ids (MRIs) are in
    refresh.userIds, or, without userIds, for everyone in a chat of at most 60 members
    (https://learn.microsoft.com/en-us/microsoftteams/platform/task-modules-and-cards/cards/universal-actions-for-adaptive-cards/user-specific-views,
    card design guidelines, "Refresh behavior"). Entra object ids match nobody."""
    editor, created, plan, sent = await sent_plan(service)
    with Session(service.engine) as session:
        c = session.exec(select(Commitment).where(Commitment.plan_id == plan["id"],
                                                  Commitment.responsible_id.is_not(None))).first()
        leader = directory.get_person(session, c.responsible_id)
    activity_id, card = task_card(service, leader)
    user_ids = card["refresh"].get("userIds", [])
    assert len(user_ids) <= 60 and all(u.startswith("29:") for u in user_ids)
    assert leader.teams_user_id not in user_ids
    await press(service, leader, activity_id, "bekraeft",
                {"commitment_id": c.id, "version_id": sent["version_id"]})
    # The leader opens the chat in Teams: the card refreshes by itself, without a press.
    emulator = service.emulator
    opened = await service.client.session.post(
        f"{emulator.base_url}/_emulator/chats/{leader.teams_user_id}/open")
    result = await opened.json()
    refreshed = {r["activity_id"]: r for r in result["refreshed"]}
    assert activity_id in refreshed and activity_id not in result["manual"]
    answer = refreshed[activity_id]["body"]
    assert answer["statusCode"] == 200 and "Bekræftet" in str(answer["value"])
    invoke = emulator.to_bot[-1]["activity"]
    assert invoke["value"]["trigger"] == "automatic" and invoke["value"]["action"]["verb"] == "opdater"


async def test_task_cards_list_the_leaders_teams_ids_once_the_bot_knows_them(service):
    """refresh.userIds holds Teams ids (MRIs), learnt from what each person sends the bot
    (`from.id`), at most 60 (user specific views page, as above)."""
    editor, created, plan, sent = await sent_plan(service)
    with Session(service.engine) as session:
        c = session.exec(select(Commitment).where(Commitment.plan_id == plan["id"],
                                                  Commitment.responsible_id.is_not(None))).first()
        leaders = [directory.get_person(session, r.responsible_id) for r in session.exec(
            select(Commitment).where(Commitment.plan_id == plan["id"],
                                     Commitment.authority_code == c.authority_code,
                                     Commitment.responsible_id.is_not(None)))]
    leader = leaders[0]
    activity_id, card = task_card(service, leader)
    for person in {p.id: p for p in leaders}.values():
        status, _ = await service.emulator.send_to_bot(person.teams_user_id, text="hjælp")
        assert status in (200, 202)
    status, answer = await press(service, leader, activity_id, "opdater",
                                 card["refresh"]["action"]["data"])
    assert answer["statusCode"] == 200
    expected = sorted({service.emulator.user_mri(p.teams_user_id) for p in leaders})
    assert answer["value"]["refresh"]["userIds"] == expected
