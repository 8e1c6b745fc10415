"""Replicas hold nothing of their own but the database: a person signed in on one replica is
signed in on the other (one session secret), a card press that lands on the other replica is
taken there, and the first replica's pages show it."""
from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, select

from bot.app import create_app
from bot.keys import SERVICES
from bot.web_session import COOKIE
from handleplaner.directory import queries as directory
from notifications.models import Alert, Delivery

from tests.conftest import free_port
from tests.service.helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting


async def test_session_and_card_press_work_on_another_replica(service):
    engine, emulator = service.engine, service.emulator
    secretary = secretariat_member(engine)
    created = await service.client.post("/api/incidents", headers={DEMO: secretary.id},
                                        json=shooting(noerrebro(engine)))
    incident = await created.json()
    await service.services.worker.run_until_idle(timeout=60)

    # The second replica: its own services and server, the same settings and database.
    port = free_port()
    other = TestClient(TestServer(create_app(service.services.settings, start_worker=False),
                                  host="127.0.0.1", port=port))
    await other.start_server()
    try:
        # Signed in on the first replica ...
        await demo_sign_in(service.client, secretary.id)
        cookie = service.client.session.cookie_jar.filter_cookies(service.base)[COOKIE].value
        # ... is signed in on the second.
        page = await other.get(f"/haendelser/{incident['id']}", cookies={COOKIE: cookie},
                               allow_redirects=False)
        assert page.status == 200, await page.text()
        assert secretary.name in await page.text()

        # Teams sends the card press to the second replica.
        emulator.config.bot_endpoint = f"http://127.0.0.1:{port}/api/messages"
        with Session(engine) as session:
            alert = session.exec(select(Alert).where(Alert.incident_id == incident["id"])).one()
            row = session.exec(select(Delivery).where(Delivery.alert_id == alert.id,
                                                      Delivery.channel == "teams")).first()
            person = directory.get_person(session, row.person_id)
        entry = emulator.chats[person.teams_user_id][0]
        action = next(a for a in entry["activity"]["attachments"][0]["content"]["actions"]
                      if a["type"] == "Action.Execute")
        status, answer = await emulator.send_to_bot(
            person.teams_user_id, reply_to_id=entry["id"],
            invoke_value={"action": {"type": "Action.Execute", "verb": action["verb"],
                                     "data": action["data"]}})
        assert status == 200 and answer["statusCode"] == 200
        pressed_on = other.app[SERVICES].metrics.registry.get_sample_value(
            "beredskab_card_presses_total", {"verb": action["verb"], "result": "ok"})
        assert pressed_on == 1  # the other replica took it
    finally:
        await other.close()

    # Taken on the second replica, seen through the first.
    with Session(engine) as session:
        assert {d.state for d in session.exec(select(Delivery).where(
            Delivery.alert_id == alert.id, Delivery.person_id == person.id))} == {"kvitteret"}
    answer = await service.client.get(f"/api/incidents/{incident['id']}/deliveries",
                                      headers={DEMO: secretary.id})
    assert answer.status == 200 and "kvitteret" in await answer.text()
