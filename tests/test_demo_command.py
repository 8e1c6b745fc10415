"""`beredskab demo --scenario skyderi --out DIR`: the one-minute tour writes what it promises."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.notifications.test_cards import assert_valid_card


@pytest.mark.skipif(os.environ.get("BEREDSKAB_TEST_DATABASE_URL", "sqlite") != "sqlite",
                    reason="the demo always runs on its own SQLite file; once per suite is enough")
def test_demo_skyderi_writes_records_cards_audit_and_summary(tmp_path):
    out = tmp_path / "ud"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "demo", "--scenario", "skyderi",
                             "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Scenariet 'skyderi' er kørt" in result.stdout

    graph = [json.loads(line) for line in (out / "graph-requests.jsonl").read_text().splitlines()]
    bot = [json.loads(line) for line in (out / "bot-requests.jsonl").read_text().splitlines()]
    for row in graph + bot:
        assert {"ts_start", "ts_end", "method", "path", "status", "body"} <= set(row)
        assert isinstance(row["ts_start"], float) and row["ts_end"] >= row["ts_start"]
    assert any(r["path"].endswith("/sendMail") and r["status"] == 202 for r in graph)
    assert any(r["path"].endswith("/activities") and r["status"] in (200, 201) for r in bot)

    cards = sorted((out / "cards").glob("*.json"))
    assert cards
    for path in cards:
        assert_valid_card(json.loads(path.read_text()))

    audit = [json.loads(line) for line in (out / "audit.jsonl").read_text().splitlines()]
    assert audit[0]["action"] == "beredskab.aktiveret"
    assert [e["seq"] for e in audit] == list(range(1, len(audit) + 1))

    summary = json.loads((out / "summary.json").read_text())
    assert summary["record_chain_intact"] is True
    teams = summary["deliveries"]["teams"]
    assert len(cards) >= teams["sendt"] + teams["kvitteret"] + teams["eskaleret"]
    steps = {s["step"]: s for s in summary["steps"]}
    assert summary["steps"][0]["status"] == 403
    assert summary["steps"][1]["status"] == 201
    assert steps["kvittering via Teams-kort"]["svar"] == 200
    assert steps["kvittering via e-mail-link"]["status"] == 200
    assert any(s["step"].startswith("eskalering") and s["trin"] > 0 for s in summary["steps"])

    assert steps["formanden godkender via Teams-kort"]["svar"] == 200
    html = (out / "handleplan-v1.html").read_text()
    safe = (out / "handleplan-v1-sikkerby.html").read_text()
    assert "Godkendt" in html and "Team Sikker By" in safe
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(out / "handleplan-v1.pdf").pages)
    assert "Nørrebro" in text and "Københavns Politi" in text

    import icalendar

    invitation = icalendar.Calendar.from_ical((out / "invitation.ics").read_bytes())
    assert str(invitation["METHOD"]) == "REQUEST"
    meeting = json.loads((out / "meeting.json").read_text())
    by_authority = {a["authority"]: a for a in meeting["attendance"]}
    assert by_authority["KFF"]["nobody_coming"] and by_authority["POL"]["represented"]
    assert any(i["external"] and i["reason"] for i in meeting["invitees"])

    alerts = json.loads((out / "alerts.json").read_text())
    alert = alerts[0]
    assert alert["severity"] == "akut" and alert["requires_ack"] is True
    assert alerts[0]["kind"] == "aktivering"
    assert set(a["kind"] for a in alerts[1:]) >= {"opgaver", "moede", "godkendelse"}
    board = json.loads((out / "commitments.json").read_text())
    assert {r["authority"] for r in board} >= {"POL", "SOF", "BUF"}
    assert any(r["state"] == "bekraeftet" and r["confirmed_at"] for r in board)
    assert any(r["state"] == "afventer" and r["leader"] for r in board)
    finals = alert["recipients_final"]
    acknowledged = [r for r in finals if r["acknowledged_at"]]
    assert len(acknowledged) >= 5
    assert any(r["escalation_level"] >= 2 and r["on_behalf_of"] for r in finals)
    silent = [r for r in finals if r["escalation_level"] == 0 and not r["acknowledged_at"]]
    assert silent and all("eskaleret" in r["channels"].values() for r in silent)
