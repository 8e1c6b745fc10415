"""Refusals: the wrong person, missing fields, an unknown area, oversized text, a bad token.
Each gets a clear Danish error and nothing is written."""
from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from handleplaner.incidents import Incident
from handleplaner.record.models import RecordEntry
from notifications.models import Alert, Delivery

from .helpers import DEMO, demo_sign_in, non_activator, noerrebro, secretariat_member, shooting


def nothing_written(engine) -> None:
    with Session(engine) as session:
        for table in (Incident, RecordEntry, Alert, Delivery):
            assert session.exec(select(func.count()).select_from(table)).one() == 0, table


async def post(service, person_id, data):
    response = await service.client.post("/api/incidents", json=data, headers={DEMO: person_id})
    return response.status, await response.json()


async def test_someone_outside_the_activating_groups_is_refused(service):
    outsider = non_activator(service.engine)
    status, body = await post(service, outsider.id, shooting(noerrebro(service.engine)))
    assert status == 403
    assert "Kun SSP-styregruppen, SSP Sekretariatet og SSP-ledergrupperne" in body["fejl"]
    nothing_written(service.engine)
    assert service.emulator.requests == []


async def test_refused_on_the_web_page_too(service):
    outsider = non_activator(service.engine)
    await demo_sign_in(service.client, outsider.id)
    response = await service.client.get("/aktiver")
    assert response.status == 403
    assert "Ingen adgang" in await response.text()
    nothing_written(service.engine)


async def test_not_signed_in_is_401(service):
    response = await service.client.post("/api/incidents", json=shooting(["x"]))
    assert response.status == 401
    assert (await response.json())["fejl"] == "Du er ikke logget ind."


@pytest.mark.parametrize("change, field, message", [
    ({"incident_type": None}, "incident_type", "skal"),
    ({"title": ""}, "title", "er for kort"),
    ({"severity": "katastrofe"}, "severity", "ukendt alvorlighed"),
    ({"areas": ["atlantis"]}, "areas", "ukendt område: atlantis"),
    ({"areas": []}, "areas", "vælg mindst ét område"),
    ({"areas": [{"kode": "indre-noerrebro"}, ["x"]]}, "areas", "skal være tekst"),  # fuzz: was a 500
    ({"description": "x" * 4001}, "description", "er for lang (højst 4000 tegn)"),
    ({"occurred_at": "i går"}, "occurred_at", "er ikke et gyldigt tidspunkt"),
    ({"occurred_at": "2099-01-01T10:00"}, "occurred_at", "fremtiden"),
    ({"unknown_field": 1}, "unknown_field", "kendes ikke"),
])
async def test_invalid_requests_name_the_field(service, change, field, message):
    data = shooting(noerrebro(service.engine))
    for key, value in change.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    status, body = await post(service, secretariat_member(service.engine).id, data)
    assert status == 422
    assert message in body["felter"][field]
    nothing_written(service.engine)


async def test_every_problem_is_reported_at_once(service):
    status, body = await post(service, secretariat_member(service.engine).id,
                              {"areas": ["atlantis"], "severity": "x"})
    assert status == 422
    assert {"incident_type", "title", "description", "occurred_at", "severity", "areas"} <= set(body["felter"])


async def test_malformed_json_and_oversized_bodies(service):
    person = secretariat_member(service.engine)
    response = await service.client.post("/api/incidents", data=b"{not json",
                                         headers={DEMO: person.id,
                                                  "Content-Type": "application/json"})
    assert response.status == 400 and "JSON" in (await response.json())["fejl"]
    response = await service.client.post("/api/incidents", data=b"[" + b"1," * 40000 + b"1]",
                                         headers={DEMO: person.id,
                                                  "Content-Type": "application/json"})
    assert response.status == 413
    nothing_written(service.engine)


async def test_web_form_keeps_what_was_typed_on_error(service):
    person = secretariat_member(service.engine)
    await demo_sign_in(service.client, person.id)
    form = await (await service.client.get("/aktiver")).text()
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    response = await service.client.post("/aktiver", data={
        "csrf": csrf, "incident_type": "skyderi", "title": "Skud ved skolen",
        "description": "Beskrivelse der ikke må gå tabt", "severity": "akut",
        "occurred_at": "2026-01-01T10:00", "areas": "atlantis"})
    assert response.status == 422
    page = await response.text()
    assert "Beredskabet er ikke aktiveret" in page
    assert "Beskrivelse der ikke må gå tabt" in page and 'value="Skud ved skolen"' in page
    assert "ukendt område: atlantis" in page
    nothing_written(service.engine)


async def test_form_without_csrf_token_is_refused(service):
    person = secretariat_member(service.engine)
    await demo_sign_in(service.client, person.id)
    response = await service.client.post("/aktiver", data={"title": "x"})
    assert response.status == 403
    nothing_written(service.engine)


async def test_bot_endpoint_refuses_unsigned_and_foreign_tokens(service):
    """No Authorization header: 401 (no credentials). A token that fails a requirement of
    "Authenticate requests from the Bot Connector service to your bot", or whose key is not
    endorsed for the activity's channel: 403 (learn.microsoft.com/en-us/azure/bot-service/
    rest-api/bot-framework-rest-connector-authentication#connector-to-bot)."""
    emulator = service.emulator
    activity = {"type": "message", "text": "hej", "serviceUrl": emulator.service_url,
                "channelId": "msteams", "conversation": {"id": "a:1"},
                "from": {"id": "29:x"}, "recipient": {"id": "28:bot"}}
    response = await service.client.post("/api/messages", json=activity)
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    for headers in ({"Authorization": "Bearer not-a-jwt"},
                    {"Authorization": "Basic " + emulator.signed_activity_token()},
                    {"Authorization": "Bearer " + emulator.signed_activity_token(key=emulator.rogue_key())},
                    {"Authorization": "Bearer " + emulator.signed_activity_token(key=emulator.webchat_key)},
                    {"Authorization": "Bearer " + emulator.signed_activity_token(audience="someone-else")},
                    {"Authorization": "Bearer " + emulator.signed_activity_token(expires_in=-3600)},
                    {"Authorization": "Bearer " + emulator.signed_activity_token(
                        issuer="https://sts.evil.example/")},
                    {"Authorization": "Bearer " + emulator.signed_activity_token(
                        service_url="https://evil.example/")}):
        response = await service.client.post("/api/messages", json=activity, headers=headers)
        assert response.status == 403, headers
    signed = {"Authorization": "Bearer " + emulator.signed_activity_token()}
    for changed in ({"channelId": "webchat"}, {"channelId": None}, {"serviceUrl": None}):
        response = await service.client.post("/api/messages", json={**activity, **changed},
                                             headers=signed)
        assert response.status == 403, changed
    assert not any(service.emulator.chats.values())


async def test_keys_that_cannot_be_fetched_are_our_fault_not_the_callers(emulator):
    """When the OpenID metadata cannot be had, the activity is answered 503 (try again), not
    403: nothing is known to be wrong with the token."""
    import aiohttp

    from bot.activity_auth import ActivityRejected, ActivityTokenValidator

    async with aiohttp.ClientSession() as http:
        validator = ActivityTokenValidator(http, metadata_url=f"{emulator.base_url}/botframework/v1/nowhere",
                                           issuer="https://api.botframework.com",
                                           app_id=emulator.config.bot_app_id)
        with pytest.raises(ActivityRejected) as refused:
            await validator.validate("Bearer " + emulator.signed_activity_token(),
                                     service_url=emulator.service_url, channel_id="msteams")
    assert refused.value.status == 503


async def test_a_cpr_number_never_goes_out_in_an_alert(service):
    """Titles and alert texts are sent to many people; a CPR number in them is refused with the
    field named, and nothing is sent."""
    person = secretariat_member(service.engine)
    headers = {DEMO: person.id}
    status, body = await post(service, person.id, shooting(noerrebro(service.engine),
                                                            title="Skud mod 010203-1234"))
    assert status == 422 and "CPR" in body["felter"]["title"]
    nothing_written(service.engine)
    created = await (await service.client.post("/api/incidents", headers=headers, json=shooting(
        noerrebro(service.engine), description="Den unge har CPR 010203-1234"))).json()
    response = await service.client.post(
        f"/api/incidents/{created['id']}/alerts", headers=headers,
        json={"kind": "opdatering", "severity": "akut", "text": "Det drejer sig om 0102031234"})
    assert response.status == 422
    assert "CPR" in (await response.json())["felter"]["text"]
