"""C3-style alerting: audiences with a preview, acknowledgement by card and by link, quorum,
escalation with channel fallback under a controllable clock, follow-ups threaded in Teams,
merging of identical alerts, exercise marking, re-send of a failed delivery."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session, select

from handleplaner import record
from handleplaner.clock import utcnow
from handleplaner.directory import queries as directory
from notifications.escalation import escalate_due
from notifications.models import Alert, Delivery

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting


async def activated(service, **changes) -> tuple[str, int]:
    person = secretariat_member(service.engine)
    response = await service.client.post("/api/incidents", headers={DEMO: person.id},
                                         json=shooting(noerrebro(service.engine), **changes))
    assert response.status == 201, await response.text()
    return person.id, (await response.json())["id"]


async def send(service, person_id, incident_id, body, *, status=201):
    response = await service.client.post(f"/api/incidents/{incident_id}/alerts", json=body,
                                         headers={DEMO: person_id})
    data = await response.json()
    assert response.status == status, data
    return data


def deliveries(engine, alert_id) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.exec(select(Delivery).where(Delivery.alert_id == alert_id)
                                 .order_by(Delivery.id)))


async def test_preview_resolves_authority_area_role_and_group_audiences(service):
    person_id, incident_id = await activated(service)
    url = f"/api/incidents/{incident_id}/alerts/preview"

    async def preview(audience):
        response = await service.client.post(url, headers={DEMO: person_id}, json={
            "severity": "varsling", "text": "Tekst", "audience": audience})
        return response.status, await response.json()

    status, ledergrupper = await preview({"kinds": ["ledergruppe"],
                                          "areas": ["indre-noerrebro", "bispebjerg"]})
    assert status == 200
    with Session(service.engine) as session:
        expected = set()
        for group in directory.list_groups(session, kind="ledergruppe"):
            covered = set(directory.group_areas(session, group.code))
            if covered & {"indre-noerrebro", "bispebjerg"}:
                expected |= {p.id for p in directory.group_members(session, group.code)}
        styregruppe = {p.id for p in directory.group_members(session, "styregruppe")}
    assert {r["id"] for r in ledergrupper["recipients"]} == expected
    assert ledergrupper["count"] == len(expected)

    status, styre = await preview({"groups": ["styregruppe"]})
    assert {r["id"] for r in styre["recipients"]} == styregruppe

    status, leaders = await preview({"roles": ["ssp-leder"]})
    assert leaders["count"] > 20
    assert set(leaders["by_authority"]) >= {"BUF", "SOF", "KFF", "BIF", "POL"}

    status, body = await preview({"groups": ["findes-ikke"], "areas": ["atlantis"]})
    assert status == 422
    assert "ukendt gruppe: findes-ikke" in body["felter"]["groups"]
    assert "ukendt område: atlantis" in body["felter"]["areas"]


async def test_acknowledge_by_card_and_by_email_link(service):
    person_id, incident_id = await activated(service)
    await service.services.worker.run_until_idle(timeout=120)
    with Session(service.engine) as session:
        alert = session.exec(select(Alert).where(Alert.incident_id == incident_id)).one()
    assert alert.requires_ack  # Akut activation alerts must be acknowledged
    rows = deliveries(service.engine, alert.id)
    teams_row = next(d for d in rows if d.channel == "teams")
    with Session(service.engine) as session:
        teams_person = directory.get_person(session, teams_row.person_id)
    # The Kvitter button: a signed adaptiveCard/action invoke from Teams.
    entry = service.emulator.chats[teams_person.teams_user_id][0]
    card = entry["activity"]["attachments"][0]["content"]
    action = next(a for a in card["actions"] if a["type"] == "Action.Execute")
    status, answer = await service.emulator.send_to_bot(
        teams_person.teams_user_id, reply_to_id=entry["id"],
        invoke_value={"action": {"type": "Action.Execute", "verb": action["verb"],
                                 "data": action["data"]}})
    assert status == 200 and answer["statusCode"] == 200
    replaced = service.emulator.chats[teams_person.teams_user_id][0]["activity"]
    texts = [b.get("text", "") for b in replaced["attachments"][0]["content"]["body"]]
    assert any(t.startswith(f"Kvitteret af {teams_person.name}") for t in texts)
    assert {d.state for d in deliveries(service.engine, alert.id)
            if d.person_id == teams_person.id} == {"kvitteret"}

    # The email link: opens a page (a GET changes nothing), the button records the click.
    email_row = next(d for d in rows if d.channel == "email" and d.person_id != teams_person.id)
    with Session(service.engine) as session:
        mail_person = directory.get_person(session, email_row.person_id)
    (mail,) = service.emulator.mailboxes[mail_person.email]
    link = mail["body"]["content"].split('href="')[1].split('"')[0]
    assert link.endswith(f"/kvitter/{alert.id}")
    path = link[len(service.base):]
    response = await service.client.get(path, allow_redirects=False)
    assert response.status == 303 and "/log-ind?next=" in response.headers["Location"]
    await demo_sign_in(service.client, mail_person.id)
    page = await (await service.client.get(path)).text()
    assert "Kvittér for varslet" in page
    assert all(d.acknowledged_at is None for d in deliveries(service.engine, alert.id)
               if d.person_id == mail_person.id)
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    page = await (await service.client.post(path, data={"csrf": csrf})).text()
    assert f"Kvitteret af {mail_person.name}" in page
    with Session(service.engine) as session:
        vias = [e.data for e in record.entries(session, incident_id) if e.action == "varsel.kvitteret"]
    assert '"via": "teams"' in vias[0] and '"via": "email"' in vias[1]


async def test_someone_not_alerted_cannot_acknowledge(service):
    _, incident_id = await activated(service)
    with Session(service.engine) as session:
        alert_id = session.exec(select(Alert.id).where(Alert.incident_id == incident_id)).one()
        recipients = {d.person_id for d in deliveries(service.engine, alert_id)}
        stranger = next(p for p in directory.list_people(session)
                        if p.id not in recipients and directory.may_activate(session, p.id))
    response = await service.client.post(f"/api/alerts/{alert_id}/acknowledge",
                                         headers={DEMO: stranger.id})
    assert response.status == 403


async def test_quorum_per_authority_closes_the_alert_and_stops_escalation(service):
    person_id, incident_id = await activated(service)
    body = await send(service, person_id, incident_id, {
        "severity": "akut", "text": "Mød op kl. 8", "requires_ack": True,
        "quorum_per_authority": 1, "escalate_after_minutes": 5,
        "audience": {"kinds": ["ledergruppe"], "areas": ["indre-noerrebro"],
                     "roles": ["ssp-leder"]}})
    alert_id = body["id"]
    await service.services.worker.run_until_idle(timeout=120)
    by_authority: dict[str, str] = {}
    with Session(service.engine) as session:
        for d in deliveries(service.engine, alert_id):
            by_authority.setdefault(directory.get_person(session, d.person_id).authority_code,
                                    d.person_id)
    for index, acknowledger in enumerate(by_authority.values()):
        response = await service.client.post(f"/api/alerts/{alert_id}/acknowledge",
                                             headers={DEMO: acknowledger})
        result = await response.json()
        assert result["quorum_reached"] == (index == len(by_authority) - 1)
    escalate_due(service.engine, utcnow() + timedelta(hours=1))
    assert all(d.escalation_level == 0 for d in deliveries(service.engine, alert_id))
    with Session(service.engine) as session:
        assert session.get(Alert, alert_id).state == "kvitteret"


async def test_escalation_goes_to_next_channel_deputy_chair_then_secretariat(service):
    person_id, incident_id = await activated(service)
    # A Varsling goes on the first channel only; silence moves it along the chain.
    body = await send(service, person_id, incident_id, {
        "severity": "varsling", "text": "Kvittér venligst", "requires_ack": True,
        "escalate_after_minutes": 10,
        "audience": {"kinds": ["ledergruppe"], "areas": ["indre-noerrebro"],
                     "authorities": ["SOF"], "roles": ["ssp-leder"]}})
    alert_id = body["id"]
    originals = deliveries(service.engine, alert_id)
    first = originals[0]
    assert len({d.person_id for d in originals}) == len(originals)  # one channel each

    def chain():
        return [d for d in deliveries(service.engine, alert_id)
                if d.person_id == first.person_id or d.on_behalf_of == first.person_id]

    await service.services.worker.run_until_idle(timeout=60)
    with Session(service.engine) as session:
        target = directory.get_person(session, first.person_id)
        deputy = directory.deputy_of(session, target.id)
    assert first.channel == target.channel_list[0]
    now = utcnow()
    clock = {"now": now}
    service.services.worker.clock = lambda: clock["now"]  # the worker follows the test's clock

    def at(minutes):
        clock["now"] = now + timedelta(minutes=minutes)
        escalate_due(service.engine, clock["now"])

    at(5)
    assert len(chain()) == 1  # not yet
    at(11)
    rows = chain()
    assert [(d.person_id, d.escalation_level) for d in rows[1:]] == [(target.id, 1)]
    assert rows[1].channel != first.channel  # the next channel
    await service.services.worker.run_until_idle(timeout=60)
    at(30)
    rows = chain()
    assert {d.person_id for d in rows if d.escalation_level == 2} == {deputy.id}
    assert all(d.on_behalf_of == target.id for d in rows if d.escalation_level == 2)
    assert {d.state for d in rows if d.escalation_level == 1} == {"eskaleret"}
    await service.services.worker.run_until_idle(timeout=60)
    # The deputy acknowledges: the chain stops.
    response = await service.client.post(f"/api/alerts/{alert_id}/acknowledge",
                                         headers={DEMO: deputy.id})
    assert response.status == 200
    before = len(chain())
    at(300)
    assert len(chain()) == before
    with Session(service.engine) as session:
        summaries = [e.summary for e in record.entries(session, incident_id)
                     if e.action == "varsel.eskaleret" and f'"alert_id": {alert_id},' in e.data]
    mine = [t for t in summaries if t.startswith(f"Ingen kvittering fra {target.name} efter 10 min.")]
    assert "sendt til næste kanal" in mine[0] and "sendt til suppleant" in mine[1]


async def test_escalation_reaches_chair_and_secretariat_when_nobody_answers(service):
    person_id, incident_id = await activated(service)
    body = await send(service, person_id, incident_id, {
        "severity": "akut", "text": "Svar", "requires_ack": True, "escalate_after_minutes": 1,
        "audience": {"kinds": ["ledergruppe"], "areas": ["indre-noerrebro"],
                     "authorities": ["KFF"], "roles": ["ssp-leder"]}})
    alert_id = body["id"]
    now = utcnow()
    clock = {"now": now}
    service.services.worker.clock = lambda: clock["now"]
    for minutes in (2, 4, 6, 8):
        await service.services.worker.run_until_idle(timeout=60)
        clock["now"] = now + timedelta(minutes=minutes)
        escalate_due(service.engine, clock["now"])
    levels = {d.escalation_level for d in deliveries(service.engine, alert_id)}
    assert {2, 3, 4} <= levels  # deputy, chair, secretariat (Akut used every channel at once)
    with Session(service.engine) as session:
        secretariat = {p.id for p in directory.secretariat_members(session)}
    assert {d.person_id for d in deliveries(service.engine, alert_id)
            if d.escalation_level == 4} <= secretariat


async def test_identical_alerts_in_a_burst_are_merged(service):
    person_id, incident_id = await activated(service)
    body = {"severity": "varsling", "text": "Samme tekst",
            "audience": {"groups": ["styregruppe"]}}
    results = await asyncio.gather(*[
        service.client.post(f"/api/incidents/{incident_id}/alerts", json=body,
                            headers={DEMO: person_id}) for _ in range(4)])
    statuses = sorted(r.status for r in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 3
    ids = {(await r.json())["id"] for r in results}
    assert len(ids) == 1
    with Session(service.engine) as session:
        assert len(list(session.exec(select(Alert).where(Alert.incident_id == incident_id)))) == 2


async def test_followup_updates_the_earlier_card_and_reaches_the_same_people(service):
    person_id, incident_id = await activated(service, exercise=True)
    await service.services.worker.run_until_idle(timeout=120)
    with Session(service.engine) as session:
        first = session.exec(select(Alert).where(Alert.incident_id == incident_id)).one()
    original = {d.person_id for d in deliveries(service.engine, first.id)}
    body = await send(service, person_id, incident_id, {
        "kind": "normaldrift", "severity": "orientering", "text": "Tilbage til normaldrift."})
    await service.services.worker.run_until_idle(timeout=120)
    assert {d.person_id for d in deliveries(service.engine, body["id"])} == original
    for user, entries in service.emulator.chats.items():
        old, new = entries[0], entries[-1]
        old_texts = [b.get("text", "") for b in old["activity"]["attachments"][0]["content"]["body"]]
        assert old["version"] == 2 and old_texts[0].startswith("Beredskabet er afsluttet (normaldrift)")
        new_card = new["activity"]["attachments"][0]["content"]
        assert any("ØVELSE" in b.get("text", "") for b in new_card["body"])
    subjects = {m["subject"] for msgs in service.emulator.mailboxes.values() for m in msgs}
    assert any(s.startswith("ØVELSE – Normaldrift (Orientering)") for s in subjects)
    alerts = await (await service.client.get(f"/api/incidents/{incident_id}/alerts",
                                             headers={DEMO: person_id})).json()
    assert [a["exercise"] for a in alerts] == [True, True]


async def test_a_failed_delivery_is_offered_for_resend_on_another_channel(service):
    person_id, incident_id = await activated(service)
    with Session(service.engine) as session:
        alert_id = session.exec(select(Alert.id).where(Alert.incident_id == incident_id)).one()
    emulator = service.emulator
    await service.client.session.post(f"{emulator.base_url}/_emulator/faults", json={
        "apis": ["bot"], "error_rate": 1.0, "error_status": 403})
    await service.services.worker.run_until_idle(timeout=60)
    await service.client.session.delete(f"{emulator.base_url}/_emulator/faults")
    failed = [d for d in deliveries(service.engine, alert_id) if d.state == "fejlet"]
    assert failed and all(d.channel == "teams" for d in failed)
    # Akut already used email too; a Varsling to one person shows the offer working.
    body = await send(service, person_id, incident_id, {
        "severity": "varsling", "text": "x", "audience": {"groups": ["styregruppe"]}})
    await service.client.session.post(f"{emulator.base_url}/_emulator/faults", json={
        "apis": ["bot"], "error_rate": 1.0, "error_status": 403})
    await service.services.worker.run_until_idle(timeout=60)
    await service.client.session.delete(f"{emulator.base_url}/_emulator/faults")
    failed_teams = next(d for d in deliveries(service.engine, body["id"]) if d.state == "fejlet")
    response = await service.client.post(f"/api/deliveries/{failed_teams.id}/resend",
                                         json={"channel": "teams"}, headers={DEMO: person_id})
    assert response.status == 422  # the same channel is not another channel
    response = await service.client.post(f"/api/deliveries/{failed_teams.id}/resend",
                                         json={"channel": "email"}, headers={DEMO: person_id})
    assert response.status == 201, await response.text()
    await service.services.worker.run_until_idle(timeout=60)
    again = [d for d in deliveries(service.engine, body["id"])
             if d.person_id == failed_teams.person_id and d.channel == "email"]
    assert [d.state for d in again] == ["sendt"]


async def test_worker_stopped_mid_fanout_and_restarted_loses_and_repeats_nothing(service):
    from notifications.limits import ChannelLimits, SlidingWindow
    from notifications.worker import DeliveryWorker

    person_id, incident_id = await activated(service)
    await send(service, person_id, incident_id, {
        "severity": "akut", "text": "Alle SSP-ledere", "audience": {"roles": ["ssp-leder"]}})
    channels = service.services.worker.channels

    def slow_worker():
        return DeliveryWorker(service.engine, channels, link_base=service.base, limits={
            "teams": ChannelLimits([SlidingWindow(6, 1.0)], concurrency=3),
            "email": ChannelLimits([SlidingWindow(30, 60.0)], concurrency=4)})

    first = asyncio.ensure_future(slow_worker().run_forever(0.05))
    await asyncio.sleep(1.5)
    first.cancel()  # the process is stopped mid-fan-out
    await asyncio.gather(first, return_exceptions=True)
    with Session(service.engine) as session:
        states = [d.state for d in session.exec(select(Delivery).where(
            Delivery.incident_id == incident_id))]
    assert "i_koe" in states and "sendt" in states  # really stopped half-way

    await slow_worker().run_until_idle(timeout=120)  # a new process
    with Session(service.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.incident_id == incident_id)))
        people = {p.id: p for p in directory.list_people(session)}
    assert {d.state for d in rows} == {"sendt"}
    received = {}
    for user, entries in service.emulator.chats.items():
        for entry in entries:
            key = (user, entry["activity"]["attachments"][0]["content"]["fallbackText"])
            received[key] = received.get(key, 0) + 1
    assert received and max(received.values()) == 1  # nobody got the same card twice
    teams_rows = [d for d in rows if d.channel == "teams"]
    assert len(received) == len(teams_rows)
    assert {people[d.person_id].teams_user_id for d in teams_rows} == {u for u, _ in received}


async def test_mail_graph_cannot_deliver_goes_by_the_smtp_route(service):
    emulator = service.emulator
    await service.client.session.post(f"{emulator.base_url}/_emulator/faults", json={
        "apis": ["graph"], "error_rate": 1.0, "error_status": 400})
    person_id, incident_id = await activated(service)
    await service.services.worker.run_until_idle(timeout=60)
    with Session(service.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.incident_id == incident_id)))
        actions = [e.action for e in record.entries(session, incident_id)]
        people = {p.id: p for p in directory.list_people(session)}
    mail_people = {d.person_id for d in rows if d.channel == "email"}
    assert {d.state for d in rows if d.channel == "email"} == {"fejlet"}
    assert {d.person_id for d in rows if d.channel == "smtp" and d.state == "sendt"} == mail_people
    assert actions.count("varsel.anden_rute") == len(mail_people)
    for person_id in mail_people:
        (mail,) = emulator.mailboxes[people[person_id].email]
        assert mail["route"] == "smtp" and "Beredskab aktiveret" in mail["subject"]


async def test_alerts_are_posted_in_the_groups_teams_channels_and_followups_reply_in_thread(service):
    from notifications.models import ChannelPost

    person_id, incident_id = await activated(service)
    await service.services.worker.run_until_idle(timeout=60)
    with Session(service.engine) as session:
        posts = list(session.exec(select(ChannelPost).where(ChannelPost.incident_id == incident_id)))
        groups = {g.code: g for g in directory.list_groups(session)}
    assert {p.group_code for p in posts} == {"ledergruppe-1", "sekretariat"}
    assert {p.state for p in posts} == {"sendt"}
    emulator = service.emulator
    for post in posts:
        (thread,) = emulator.channels[groups[post.group_code].teams_channel_id]
        assert thread["activity"]["attachments"][0]["content"]["type"] == "AdaptiveCard"

    await send(service, person_id, incident_id, {
        "severity": "varsling", "text": "Til styregruppens orientering", "post_in_channels": True,
        "audience": {"groups": ["styregruppe"]}})
    await send(service, person_id, incident_id, {
        "kind": "normaldrift", "severity": "orientering", "text": "Normaldrift."})
    await service.services.worker.run_until_idle(timeout=60)
    (styre,) = emulator.channels[groups["styregruppe"].teams_channel_id]
    assert "Til styregruppens orientering" in str(styre["activity"])
    (thread,) = emulator.channels[groups["ledergruppe-1"].teams_channel_id]
    assert len(thread["replies"]) == 1 and "Normaldrift." in str(thread["replies"][0])
    assert thread["version"] == 2  # the first card now says the beredskab is over
    assert "Beredskabet er afsluttet (normaldrift)" in str(thread["activity"])


async def test_an_emulator_outage_delays_but_loses_nothing(service):
    """Microsoft is down (connections refused) when the alert is accepted; once it is back,
    every delivery goes out, once."""
    from aiohttp import web as aioweb

    from m365emulator.app import create_emulator_app

    emulator = service.emulator
    host, port = emulator.base_url.split("//")[1].split(":")
    await service.emulator_runner.cleanup()  # the outage
    service.services.worker.backoff_base = 0.05
    person_id, incident_id = await activated(service)
    for _ in range(3):
        await service.services.worker.run_once()
        await asyncio.sleep(0.2)
    with Session(service.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.incident_id == incident_id)))
    assert {d.state for d in rows} == {"i_koe"} and max(d.attempts for d in rows) >= 1
    assert all(d.last_error for d in rows if d.attempts)  # the reason is kept

    back = aioweb.AppRunner(create_emulator_app(emulator))  # Microsoft is back, same address
    await back.setup()
    await aioweb.TCPSite(back, host, int(port)).start()
    try:
        await service.services.worker.run_until_idle(timeout=120)
        with Session(service.engine) as session:
            rows = list(session.exec(select(Delivery).where(Delivery.incident_id == incident_id)))
        assert {d.state for d in rows} == {"sendt"}
        assert all(len(entries) == 1 for entries in emulator.chats.values())
    finally:
        await back.cleanup()
