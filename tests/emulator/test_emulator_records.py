"""The request record: in memory, through /_emulator/requests, and as JSON lines."""

from __future__ import annotations

import json

from emulator_helpers import ANNA

FIELDS = {"api", "ts_start", "ts_end", "method", "path", "status", "body", "retry_after"}


def read_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_record_files(tmp_path, make_emulator_with_bot):
    _, m365 = await make_emulator_with_bot(record_dir=tmp_path / "rec")
    await m365.send_mail(await m365.graph_headers(), to=["anna@kk.example"], subject="Rec")
    conversation_id = m365.emulator.personal_conversation(ANNA)["id"]
    await m365.post_activity(await m365.bot_headers(), conversation_id)
    await m365.emulator.send_to_bot(ANNA, text="hej")

    graph = read_lines(tmp_path / "rec" / "graph-requests.jsonl")
    assert [r["api"] for r in graph] == ["token", "graph", "token"]
    for record in graph:
        assert FIELDS <= set(record)
        assert record["ts_start"] <= record["ts_end"]
    token, mail = graph[0], graph[1]
    assert token["method"] == "POST" and token["status"] == 200 and token["body"]["client_secret"] == "***"
    assert mail["path"] == "/v1.0/users/ssp@kk.example/sendMail" and mail["status"] == 202
    assert mail["body"]["message"]["subject"] == "Rec" and mail["mailbox"] == "ssp@kk.example"
    assert mail["retry_after"] is None

    bot_records = read_lines(tmp_path / "rec" / "bot-requests.jsonl")
    assert [r["api"] for r in bot_records] == ["bot", "to_bot"]
    assert bot_records[0]["conversation_id"] == conversation_id and bot_records[0]["status"] == 201
    assert bot_records[1]["status"] == 200 and bot_records[1]["body"]["text"] == "hej"
    assert all(FIELDS <= set(r) for r in bot_records)


async def test_requests_endpoint_filters_and_reset_clears(m365):
    await m365.send_mail(await m365.graph_headers(), to=["anna@kk.example"])
    everything = await (await m365.client.get("/_emulator/requests")).json()
    assert [r["api"] for r in everything] == ["token", "graph"]
    graph = await (await m365.client.get("/_emulator/requests?api=graph")).json()
    assert len(graph) == 1 and graph[0]["status"] == 202
    assert (await m365.client.get("/_emulator/requests?api=nope")).status == 400

    assert (await m365.client.post("/_emulator/reset")).status == 200
    assert await (await m365.client.get("/_emulator/requests")).json() == []
    assert m365.emulator.mailboxes == {}
