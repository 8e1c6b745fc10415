"""`beredskab demo --scenario NAME --out DIR`: a scripted scenario, in-process, against the
emulator, writing what happened so a newcomer can read it in a minute.

Writes DIR/graph-requests.jsonl and DIR/bot-requests.jsonl (the emulator's records of every
request), DIR/cards/*.json (every Adaptive Card the bot sent), DIR/audit.jsonl (the incident
record) and DIR/summary.json (counts by channel and state).
"""
from __future__ import annotations

import json
import socket
import tempfile
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlmodel import Session

from handleplaner import record
from handleplaner.clock import local, utcnow
from handleplaner.directory import queries as directory
from notifications import overview

from .access import DEMO_HEADER
from .app import create_app
from .keys import SERVICES
from .serve import emulator_people
from .services import demo_settings


def _people(engine):
    """The scenario's cast, picked from the demo organisation by role, not by name."""
    with Session(engine) as session:
        secretariat = directory.secretariat_members(session)[0]
        outsider = next(p for p in directory.list_people(session)
                        if p.authority_code != "SSP" and not directory.may_activate(session, p.id)
                        and directory.groups_of(session, p.id))
        noerrebro = [a.code for a in directory.all_areas(session) if "Nørrebro" in a.name]
    return secretariat, outsider, noerrebro


def _shooting(areas: list[str]) -> dict:
    occurred = local(utcnow() - timedelta(minutes=40)).replace(tzinfo=None)
    return {
        "incident_type": "skyderi",
        "title": "Skud affyret ved boligområde på Nørrebro",
        "description": ("Politiet melder om skud affyret mod en gruppe unge ved et boligområde "
                        "kl. ca. 21. Ingen tilskadekomne. Risiko for gengældelse mellem to "
                        "grupper af unge i området de næste døgn."),
        "severity": "akut",
        "occurred_at": occurred.isoformat(timespec="minutes"),
        "areas": areas,
        "whole_city": False,
        "exercise": False,
        "confidential": False,
    }


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def _cards(emulator) -> list[dict]:
    cards = []
    for user_id, entries in sorted(emulator.chats.items()):
        for entry in entries:
            for attachment in entry["activity"].get("attachments") or []:
                if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                    cards.append({"user_id": user_id, "activity_id": entry["id"],
                                  "card": attachment["content"]})
    return cards


async def _skyderi(base: str, services, emulator) -> dict:
    secretariat, outsider, noerrebro = _people(services.engine)
    steps = []
    async with aiohttp.ClientSession() as http:
        # 1. Someone outside the activating groups tries: refused, nothing written.
        async with http.post(f"{base}/api/incidents", json=_shooting(noerrebro),
                             headers={DEMO_HEADER: outsider.id}) as response:
            refusal = await response.json()
            steps.append({"step": "aktivering nægtet", "person": outsider.id,
                          "status": response.status, "svar": refusal})
        # 2. The secretariat activates beredskab for Nørrebro.
        async with http.post(f"{base}/api/incidents", json=_shooting(noerrebro),
                             headers={DEMO_HEADER: secretariat.id}) as response:
            created = await response.json()
            if response.status != 201:
                raise RuntimeError(f"activation failed: {response.status} {created}")
            steps.append({"step": "beredskab aktiveret", "person": secretariat.id,
                          "status": response.status, "reference": created["reference"],
                          "alert": created["alert"]})
    # 3. The worker delivers within Microsoft's limits.
    await services.worker.run_until_idle(timeout=600)
    # 4. An alerted leader writes to the bot in Teams; the signed activity reaches /api/messages.
    with Session(services.engine) as session:
        rows = overview.deliveries(session, created["id"])
        leader = next(r for r in rows if r.channel == "teams" and r.state == "sendt")
        person = directory.get_person(session, leader.person_id)
    status, _ = await emulator.send_to_bot(person.teams_user_id, text="hjælp")
    steps.append({"step": "leder skriver til botten", "person": person.id, "status": status})
    return {"incident_id": created["id"], "reference": created["reference"], "steps": steps}


SCENARIOS = {"skyderi": _skyderi}


async def run_scenario(name: str, out: Path) -> dict:
    from m365emulator import EmulatorConfig, start_emulator

    out.mkdir(parents=True, exist_ok=True)
    for stale in ("graph-requests.jsonl", "bot-requests.jsonl"):
        (out / stale).unlink(missing_ok=True)
    (out / "cards").mkdir(exist_ok=True)
    for old in (out / "cards").glob("*.json"):
        old.unlink()
    workdir = Path(tempfile.mkdtemp(prefix="beredskab-demo-"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    emulator, emulator_runner = await start_emulator(
        EmulatorConfig(bot_endpoint=f"{base}/api/messages", record_dir=out, seed=7,
                       latency_ms=(5, 40)), port=0)
    settings = demo_settings(emulator.base_url, public_url=base, worker_poll_seconds=0.2,
                             database_url=f"sqlite:///{workdir / 'beredskab.db'}")
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    try:
        services = runner.app[SERVICES]
        emulator.config.people = emulator_people(services.engine)
        await web.SockSite(runner, sock).start()
        story = await SCENARIOS[name](base, services, emulator)
        cards = _cards(emulator)
        for number, item in enumerate(cards, start=1):
            (out / "cards" / f"{number:03d}-{item['user_id'][:8]}.json").write_text(
                json.dumps(item["card"], ensure_ascii=False, indent=2), encoding="utf-8")
        with Session(services.engine) as session:
            entries = record.entries(session, story["incident_id"])
            _write_jsonl(out / "audit.jsonl", (record.as_dict(e) for e in entries))
            rows = overview.deliveries(session, story["incident_id"])
            broken = record.verify_chain(session, story["incident_id"])
        summary = {
            "scenario": name, "reference": story["reference"],
            "recipients": len({r.person_id for r in rows}),
            "deliveries": overview.counts(rows),
            "cards": len(cards),
            "record_entries": len(entries), "record_chain_intact": broken is None,
            "emulator_requests": {api: sum(1 for r in emulator.requests if r.get("api") == api)
                                  for api in sorted({r.get("api") for r in emulator.requests})},
            "throttled_responses": sum(1 for r in emulator.requests if r.get("status") == 429),
            "steps": story["steps"],
        }
        (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2),
                                          encoding="utf-8")
        return summary
    finally:
        await runner.cleanup()
        await emulator_runner.cleanup()
