"""The Teams read-back finds exactly the alert's cards posted since the delivery was queued, with
queries Graph takes ("List messages in a chat": createdDateTime desc, no filter), and stops
reading at the first older message."""
from __future__ import annotations

import datetime as dt

import aiohttp
import pytest

from m365emulator import Emulator, EmulatorConfig, create_emulator_app
from notifications.channels.email import graph_client
from notifications.channels.read_back import SLACK
from notifications.channels.teams_read_back import TeamsChatReadBack
from notifications.tokens import ClientCredentialsTokens

CARD = "application/vnd.microsoft.card.adaptive"
ANNA = "aaaaaaaa-0000-0000-0000-000000000001"
QUEUED = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
async def chat(aiohttp_server):
    """(emulator, read-back, post): ``post(alert_id, posted_at)`` puts the alert's card in Anna's
    chat with the bot as Teams would have stamped it."""
    emulator = Emulator(EmulatorConfig(people=[{"name": "Anna", "email": "anna@kk.example", "teams_user_id": ANNA}]))
    server = await aiohttp_server(create_emulator_app(emulator))
    base = str(server.make_url("")).rstrip("/")
    emulator.base_url = base
    config = emulator.config
    async with aiohttp.ClientSession() as http:
        tokens = ClientCredentialsTokens(http, token_url=f"{base}/{config.tenant_id}/oauth2/v2.0/token",
                                         client_id=config.bot_app_id, client_secret=config.bot_app_secret)
        reader = TeamsChatReadBack(graph_client(tokens, f"{base}/v1.0"), bot_app_id=config.bot_app_id)
        conversation = emulator.personal_conversation(ANNA)["id"]

        def post(alert_id: int, posted_at: dt.datetime) -> str:
            card = {"type": "AdaptiveCard", "version": "1.5",
                    "body": [{"type": "TextBlock", "id": f"varsel-{alert_id}", "text": "Varsel"}]}
            activity_id = emulator.post_activity(conversation, {"type": "message", "attachments": [
                {"contentType": CARD, "content": card}]})
            emulator.chats[ANNA][-1]["posted_at"] = iso(posted_at)
            return activity_id

        yield emulator, reader, post


def message_reads(emulator) -> list[str]:
    return [r["path"] for r in emulator.requests if r["api"] == "graph" and r["path"].endswith("/messages")]


async def test_a_card_posted_since_the_delivery_was_queued_is_found(chat):
    emulator, reader, post = chat
    card = post(7, QUEUED + dt.timedelta(seconds=5))
    assert await reader.find_card(ANNA, 7, QUEUED) == card


async def test_a_card_posted_before_the_delivery_was_queued_is_not_found_even_if_changed_since(chat):
    emulator, reader, post = chat
    card = post(7, QUEUED - SLACK - dt.timedelta(minutes=10))
    emulator.update_activity(emulator.personal_conversation(ANNA)["id"], card,
                             dict(emulator.chats[ANNA][-1]["activity"]))  # acknowledged later
    emulator.chats[ANNA][-1]["updated_at"] = iso(QUEUED + dt.timedelta(minutes=1))
    assert await reader.find_card(ANNA, 7, QUEUED) is None


async def test_reading_stops_at_the_first_message_older_than_the_delivery(chat):
    emulator, reader, post = chat
    for n in range(120):  # a long history, all before the delivery was queued
        post(1000 + n, QUEUED - dt.timedelta(hours=2, minutes=n))
    post(8, QUEUED + dt.timedelta(seconds=1))  # another alert's card, since
    assert await reader.find_card(ANNA, 7, QUEUED) is None
    assert len(message_reads(emulator)) == 1  # one page, not the whole history


async def test_a_card_behind_a_full_page_of_later_messages_is_found(chat):
    emulator, reader, post = chat
    card = post(7, QUEUED + dt.timedelta(seconds=1))
    for n in range(60):
        post(100 + n, QUEUED + dt.timedelta(seconds=2 + n))
    assert await reader.find_card(ANNA, 7, QUEUED) == card
    assert len(message_reads(emulator)) == 2
