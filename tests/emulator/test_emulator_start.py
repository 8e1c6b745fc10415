"""Starting the emulator on a port, in process and as `python -m m365emulator`."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from emulator_helpers import GRAPH_SCOPE
from m365emulator import EmulatorConfig, start_emulator
from m365emulator.__main__ import config_from_args, parse_args


async def test_start_emulator_on_a_free_port():
    emulator, runner = await start_emulator(EmulatorConfig(limits=False))
    try:
        assert emulator.base_url.startswith("http://127.0.0.1:")
        assert not emulator.base_url.endswith(":0")
        config = emulator.config
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{emulator.base_url}/_emulator/config") as response:
                wiring = await response.json()
            assert wiring["connector_url"] == f"{emulator.base_url}/connector/"
            async with session.post(
                wiring["token_url"],
                data={
                    "grant_type": "client_credentials",
                    "client_id": config.bot_app_id,
                    "client_secret": config.bot_app_secret,
                    "scope": GRAPH_SCOPE,
                },
            ) as response:
                token = (await response.json())["access_token"]
            async with session.post(
                f"{wiring['graph_base_url']}/users/ssp@kk.example/sendMail",
                json={"message": {"subject": "Hej", "toRecipients": [{"emailAddress": {"address": "a@kk.example"}}]}},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                assert response.status == 202
        assert emulator.mailboxes["a@kk.example"][0]["subject"] == "Hej"
    finally:
        await runner.cleanup()


def test_command_line_options(tmp_path):
    people = tmp_path / "people.json"
    people.write_text('[{"name": "Anna", "email": "anna@kk.example", "teams_user_id": "u1"}]', encoding="utf-8")
    args = parse_args(
        ["--port", "0", "--bot-endpoint", "http://127.0.0.1:8400/api/messages", "--record-dir", str(tmp_path),
         "--no-limits", "--latency-ms", "5", "10", "--people", str(people)]
    )
    config = config_from_args(args)
    assert args.port == 0
    assert config.bot_endpoint == "http://127.0.0.1:8400/api/messages"
    assert config.record_dir == tmp_path and config.limits is False and config.latency_ms == (5, 10)
    assert config.person_by_user_id("u1")["name"] == "Anna"
    assert parse_args([]).port == 3978


async def test_python_dash_m_prints_its_address_and_serves():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "m365emulator", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        address = line.split()[-1]
        assert address.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{address}/") as response:
                assert response.status == 200
                assert "Postkasser" in await response.text()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
