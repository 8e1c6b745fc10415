"""Fixtures for the Microsoft 365 emulator's tests: an emulator on a test server with a fake clock, a test bot."""

from __future__ import annotations

import pytest
from aiohttp import web

from emulator_helpers import PEOPLE, EmulatorHarness, FakeBot, FakeClock
from m365emulator import Emulator, EmulatorConfig, create_emulator_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_emulator(aiohttp_client, clock):
    """`await make_emulator(**config)`: an emulator on a test server (base_url known)."""

    async def make(**config) -> EmulatorHarness:
        config.setdefault("people", PEOPLE)
        emulator = Emulator(EmulatorConfig(**config), clock=clock)
        client = await aiohttp_client(create_emulator_app(emulator))
        emulator.base_url = str(client.make_url("/"))
        return EmulatorHarness(emulator, client, clock)

    return make


@pytest.fixture
async def m365(make_emulator) -> EmulatorHarness:
    return await make_emulator()


@pytest.fixture
async def fake_bot(aiohttp_server) -> FakeBot:
    """A test bot on its own server; `fake_bot.endpoint` is its /api/messages."""
    bot = FakeBot()
    app = web.Application()
    app.router.add_post("/api/messages", bot.handle)
    server = await aiohttp_server(app)
    bot.endpoint = str(server.make_url("/api/messages"))
    return bot


@pytest.fixture
def make_emulator_with_bot(make_emulator, fake_bot):
    """`await make_emulator_with_bot(**config)`: (bot, emulator harness), the emulator posting to the bot."""

    async def make(**config):
        m365 = await make_emulator(bot_endpoint=fake_bot.endpoint, **config)
        fake_bot.trust(m365.emulator)
        return fake_bot, m365

    return make


@pytest.fixture
async def bot_and_emulator(make_emulator_with_bot):
    return await make_emulator_with_bot()
