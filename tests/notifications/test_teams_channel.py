"""Posting into a Teams channel through the bot, against the running emulator: a new thread per
post, replies in the thread, cards updated in place, and errors mapped like the personal chat's."""
from __future__ import annotations

import aiohttp
import pytest

from m365emulator import EmulatorConfig, start_emulator
from m365emulator.config import DEFAULT_BOT_APP_ID, DEFAULT_BOT_APP_SECRET
from notifications.channels.base import AlertMessage
from notifications.channels.teams import ConnectorClients
from notifications.channels.teams_channel import TeamsChannelPoster, card_activity, update_card
from notifications.tokens import ClientCredentialsTokens

CHANNEL = "19:beredskab0123456789abcdef@thread.tacv2"
ANNA = "aaaaaaaa-0000-0000-0000-000000000001"


def card(*texts: str) -> dict:
    return {"type": "AdaptiveCard", "version": "1.5",
            "body": [{"type": "TextBlock", "text": text} for text in texts]}


def alert(headline="ØVELSE: Skyderi ved Nørrebro st.", *, status="Aktiv") -> AlertMessage:
    return AlertMessage(alert_id=42, incident_id=7, subject=headline, text=headline,
                        facts=(("Sted", "Nørrebro"),), severity="rød", exercise=True,
                        link="http://x/h/7", card=card(headline, status))


class Wired:
    def __init__(self, emulator, runner, http, clients, poster):
        self.emulator, self.runner, self.http, self.clients, self.poster = emulator, runner, http, clients, poster


@pytest.fixture
async def make_wired():
    made: list[Wired] = []

    async def make(**config) -> Wired:
        # A frozen clock for the emulator's limits: what is throttled does not depend on timing.
        emulator, runner = await start_emulator(EmulatorConfig(**config), clock=lambda: 1000.0)
        base, tenant = emulator.base_url, emulator.config.tenant_id
        http = aiohttp.ClientSession()
        tokens = ClientCredentialsTokens(http, token_url=f"{base}/{tenant}/oauth2/v2.0/token",
                                         client_id=DEFAULT_BOT_APP_ID, client_secret=DEFAULT_BOT_APP_SECRET)
        clients = ConnectorClients(tokens)
        poster = TeamsChannelPoster(clients, service_url=f"{base}/connector/",
                                    bot_app_id=DEFAULT_BOT_APP_ID, tenant_id=tenant)
        made.append(Wired(emulator, runner, http, clients, poster))
        return made[-1]

    yield make
    for wired in made:
        await wired.clients.close()
        await wired.http.close()
        await wired.runner.cleanup()


async def test_post_reply_and_update_in_one_thread(make_wired):
    teams = await make_wired()
    posted = await teams.poster.post(alert(), CHANNEL)
    assert posted.ok and posted.status_code == 201
    assert posted.conversation_id == f"{CHANNEL};messageid={posted.provider_message_id}"
    [thread] = teams.emulator.channels[CHANNEL]
    assert thread["id"] == posted.provider_message_id
    assert thread["activity"]["attachments"][0]["content"] == alert().card
    assert thread["activity"]["text"] == alert().text

    replied = await teams.poster.reply(alert("Opdatering: gerningsmand anholdt"), posted.conversation_id)
    assert replied.ok and replied.conversation_id == posted.conversation_id
    [reply] = thread["replies"]
    assert reply["id"] == replied.provider_message_id and reply["reply_to_id"] == thread["id"]
    assert reply["activity"]["attachments"][0]["content"] == card("Opdatering: gerningsmand anholdt", "Aktiv")

    updated = await teams.poster.update(alert(status="Afblæst"), posted.conversation_id,
                                        posted.provider_message_id)
    assert updated.ok and updated.status_code == 200
    assert thread["version"] == 2
    assert thread["activity"]["attachments"][0]["content"] == card("ØVELSE: Skyderi ved Nørrebro st.", "Afblæst")
    assert len(teams.emulator.channels[CHANNEL]) == 1

    second = await teams.poster.post(alert("Ny hændelse"), CHANNEL)
    assert second.ok and second.conversation_id != posted.conversation_id
    assert len(teams.emulator.channels[CHANNEL]) == 2


async def test_update_card_works_in_a_personal_chat(make_wired):
    teams = await make_wired()
    conversation_id = teams.emulator.personal_conversation(ANNA)["id"]
    activity_id = teams.emulator.post_activity(conversation_id, card_activity(alert()).model_dump(
        by_alias=True, exclude_unset=True, mode="json"))
    result = await update_card(teams.clients, f"{teams.emulator.base_url}/connector/", conversation_id,
                               activity_id, {"type": "message", "attachments": [
                                   {"contentType": "application/vnd.microsoft.card.adaptive",
                                    "content": card("Kvitteret")}]})
    assert result.ok and result.provider_message_id == activity_id
    [entry] = teams.emulator.chats[ANNA]
    assert entry["version"] == 2 and entry["activity"]["attachments"][0]["content"] == card("Kvitteret")


async def test_unknown_channel_is_permanent(make_wired):
    teams = await make_wired(channels=[{"id": CHANNEL, "name": "Beredskab"}])
    result = await teams.poster.post(alert(), "19:ukendt@thread.tacv2")
    assert not result.ok and result.status_code == 404 and not result.transient
    assert teams.emulator.log.select("bot")[-1]["error_code"] == "ChannelNotFound"
    assert (await teams.poster.post(alert(), CHANNEL)).ok


async def test_unknown_thread_and_activity_are_permanent(make_wired):
    teams = await make_wired()
    result = await teams.poster.reply(alert(), f"{CHANNEL};messageid=1")
    assert not result.ok and result.status_code == 404 and not result.transient
    posted = await teams.poster.post(alert(), CHANNEL)
    result = await teams.poster.update(alert(), posted.conversation_id, "999")
    assert not result.ok and result.status_code == 404 and not result.transient


async def test_per_conversation_limit_is_transient_with_retry_after(make_wired):
    teams = await make_wired()
    posted = await teams.poster.post(alert(), CHANNEL)
    for _ in range(6):
        assert (await teams.poster.reply(alert(), posted.conversation_id)).ok
    throttled = await teams.poster.reply(alert(), posted.conversation_id)
    assert not throttled.ok and throttled.throttled and throttled.transient
    assert throttled.retry_after == 1.0
    assert throttled.conversation_id == posted.conversation_id


async def test_server_errors_and_unreachable_service_are_transient(make_wired):
    teams = await make_wired()
    from m365emulator.faults import Faults

    teams.emulator.set_faults(Faults(apis=frozenset({"bot"}), error_rate=1.0, remaining=1))
    result = await teams.poster.post(alert(), CHANNEL)
    assert not result.ok and result.status_code == 503 and result.transient

    nowhere = TeamsChannelPoster(teams.clients, service_url="http://127.0.0.1:1/connector/",
                                 bot_app_id=DEFAULT_BOT_APP_ID, tenant_id=teams.emulator.config.tenant_id)
    result = await nowhere.post(alert(), CHANNEL)
    assert not result.ok and result.transient and result.error.startswith("forbindelsesfejl")
