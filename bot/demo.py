"""`beredskab demo --scenario NAME --out DIR`: a scripted scenario, in-process, against the
emulator, writing what happened so a newcomer can read it in a minute.

Writes DIR/graph-requests.jsonl and DIR/bot-requests.jsonl (the emulator's records of every
request), DIR/cards/*.json (every Adaptive Card the bot sent, including cards redrawn after an
acknowledgement), DIR/audit.jsonl (the incident record), DIR/alerts.json (each alert and each
recipient's final state per channel), DIR/handleplan-v1.{html,pdf} and
DIR/handleplan-v1-sikkerby.html (the approved plan, and its version for Team Sikker By) and
DIR/summary.json (counts by channel and state).
"""
from __future__ import annotations

import asyncio
import json
import socket
import tempfile
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlmodel import Session, select

from handleplaner import record
from handleplaner.clock import local, utcnow
from handleplaner.directory import queries as directory
from notifications import overview

from .access import DEMO_HEADER
from .app import create_app
from .entra_sign_in import CALLBACK_PATH
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
            # every version: as posted, and as replaced after an acknowledgement or follow-up
            for activity in [*entry.get("history", []), entry["activity"]]:
                for attachment in activity.get("attachments") or []:
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
    # 5. Some acknowledge: with the Kvitter button in Teams, and with the link in the email.
    alert_id = created["alert"]["id"]
    steps += await _acknowledge_some(base, services, emulator, alert_id, rows)
    # 6. The others stay silent: escalation runs on a fast clock (deputy, chair, secretariat).
    steps += await _escalate_fast(services, alert_id)
    # 6b. The secretariat calls the beredskabsmøde: a Teams meeting for the parties in Microsoft
    #     365, an .ics invitation by email for Team Sikker By (invited with a reason).
    steps += await _meeting(base, services, emulator, created["id"], secretariat.id)
    # 7. The secretariat drafts the plan from its template and sends it to the styregruppe; the
    #    chair approves it with the signed Godkend action on the Teams card.
    plan_steps, plan_id = await _plan(base, services, emulator, created["id"], secretariat.id)
    steps += plan_steps
    return {"incident_id": created["id"], "reference": created["reference"], "steps": steps,
            "plan_id": plan_id}


async def _meeting(base: str, services, emulator, incident_id: int, editor_id: str) -> list[dict]:
    headers = {DEMO_HEADER: editor_id}
    with Session(services.engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/incidents/{incident_id}/meetings", headers=headers, json={
                "online": True, "duration_minutes": 60,
                "externals": [{"person_id": external.id,
                               "reason": "Tryghedsvandringer og dialog med boligområdet"}]}) as response:
            meeting = await response.json()
        steps = [{"step": "beredskabsmøde indkaldt", "status": response.status,
                  "join_url": meeting.get("join_url"), "kalenderfejl": meeting.get("kalenderfejl")}]
        # The parties answer in Outlook/Teams: all accept, except KFF, who cannot come.
        with Session(services.engine) as session:
            people = {p.id: p for p in directory.list_people(session)}
        for invitee in meeting.get("invitees", []):
            if invitee["by_calendar"]:
                answer = "declined" if invitee["authority"] == "KFF" else "accepted"
                async with http.post(f"{emulator.base_url}/_emulator/events/"
                                     f"{_event_id(services, meeting['id'])}/respond",
                                     json={"address": people[invitee["person_id"]].email,
                                           "response": answer}) as _:
                    pass
        async with http.post(f"{base}/api/meetings/{meeting['id']}/responses/sync",
                             headers=headers) as response:
            synced = await response.json()
        steps.append({"step": "svar hentet fra kalenderen", "status": response.status,
                      "ikke_repraesenteret": synced.get("not_represented")})
    await services.worker.run_until_idle(timeout=600)
    return steps


def _event_id(services, meeting_id: int) -> str:
    from handleplaner.meetings.models import Meeting

    with Session(services.engine) as session:
        return session.get(Meeting, meeting_id).graph_event_id


def _meeting_files(session, incident_id: int, out: Path, link_base: str) -> None:
    from handleplaner.meetings import service as meetings
    from handleplaner.meetings.models import Meeting
    from notifications.meeting_invites import ics_for

    meeting = session.exec(select(Meeting).where(Meeting.incident_id == incident_id)).first()
    if meeting is None:
        return
    (out / "invitation.ics").write_bytes(ics_for(session, meeting, link_base))
    (out / "meeting.json").write_text(json.dumps({
        "meeting_id": meeting.id, "starts_at": meeting.starts_at.isoformat(),
        "join_url": meeting.join_url, "uid": meeting.uid, "sequence": meeting.sequence,
        "attendance": [a.as_json() for a in meetings.attendance(session, meeting.id)],
        "invitees": [{"person_id": i.person_id, "authority": i.authority_code,
                      "external": i.external, "reason": i.reason, "response": i.response,
                      "by_calendar": i.by_calendar} for i in meetings.invitees(session, meeting.id)],
    }, ensure_ascii=False, indent=2), encoding="utf-8")


async def _plan(base: str, services, emulator, incident_id: int, editor_id: str):
    from handleplaner.plans import service as plans

    headers = {DEMO_HEADER: editor_id}
    steps = []
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/incidents/{incident_id}/plan", headers=headers,
                             json={"template": "skyderi", "period_days": 14}) as response:
            plan = await response.json()
            steps.append({"step": "handleplan udarbejdet fra skabelon", "status": response.status,
                          "skabelon": "skyderi", "indsatser": len(plan.get("measures", []))})
        async with http.post(f"{base}/api/plans/{plan['id']}/send", headers=headers,
                             json={"rule": "formand"}) as response:
            sent = await response.json()
            steps.append({"step": "handleplan sendt til styregruppen", "status": response.status,
                          "version": sent.get("number")})
    await services.worker.run_until_idle(timeout=600)
    with Session(services.engine) as session:
        chair = directory.get_person(session, plans.styregruppe_chair(session))
    entry = next(e for e in emulator.chats.get(chair.teams_user_id, [])
                 if any(a.get("verb") == "godkend" for a in
                        (e["activity"].get("attachments") or [{}])[0].get("content", {}).get("actions", [])))
    status, answer = await emulator.send_to_bot(chair.teams_user_id, reply_to_id=entry["id"], invoke_value={
        "action": {"type": "Action.Execute", "verb": "godkend",
                   "data": {"version_id": sent["version_id"],
                            "comment": "Godkendt. Husk tilbagemelding efter en uge."}}})
    steps.append({"step": "formanden godkender via Teams-kort", "person": chair.id,
                  "status": status, "svar": (answer or {}).get("statusCode")})
    # 8. Each authority's leader got its measures as a card; some confirm at once.
    steps += await _confirm_some(services, emulator)
    return steps, plan["id"]


async def _confirm_some(services, emulator) -> list[dict]:
    steps = []
    for user, entries in sorted(emulator.chats.items()):
        for entry in entries:
            card = ((entry["activity"].get("attachments") or [{}])[0]).get("content", {})
            actions = [a for block in card.get("body", []) for item in block.get("items", [])
                       if item.get("type") == "ActionSet" for a in item["actions"]
                       if a.get("verb") == "bekraeft"]
            if not actions:
                continue
            first = actions[0]
            status, answer = await emulator.send_to_bot(user, reply_to_id=entry["id"], invoke_value={
                "action": {"type": "Action.Execute", "verb": "bekraeft", "data": first["data"]}})
            steps.append({"step": "leder bekræfter en opgave via Teams-kort", "status": status,
                          "svar": (answer or {}).get("statusCode"),
                          "opgave": first["data"]["commitment_id"]})
            break
        if len(steps) >= 3:
            break
    return steps


def _plan_documents(session, plan_id: int, out: Path) -> None:
    from handleplaner.plans import service as plans
    from handleplaner.plans.documents import render_plan_html, render_plan_pdf
    from handleplaner.privacy.sharing import assert_shareable

    for version in plans.versions(session, plan_id):
        snap = plans.version_snapshot(session, version)
        name = f"handleplan-v{version.number}"
        (out / f"{name}.html").write_text(render_plan_html(snap), encoding="utf-8")
        (out / f"{name}.pdf").write_bytes(render_plan_pdf(snap))
        assert_shareable(session, snap)
        (out / f"{name}-sikkerby.html").write_text(render_plan_html(snap, variant="sikkerby"),
                                                   encoding="utf-8")


async def _acknowledge_some(base: str, services, emulator, alert_id: int, rows) -> list[dict]:
    steps = []
    teams_people = [r.person_id for r in rows if r.channel == "teams" and r.state == "sendt"][:3]
    with Session(services.engine) as session:
        people = {pid: directory.get_person(session, pid) for pid in {r.person_id for r in rows}}
    for person_id in teams_people:
        user = people[person_id].teams_user_id
        entry = next(e for e in emulator.chats[user]
                     if any(a.get("content", {}).get("actions") for a in e["activity"]["attachments"] or []))
        status, answer = await emulator.send_to_bot(user, reply_to_id=entry["id"], invoke_value={
            "action": {"type": "Action.Execute", "verb": "kvitter", "data": {"alert_id": alert_id}}})
        steps.append({"step": "kvittering via Teams-kort", "person": person_id, "status": status,
                      "svar": (answer or {}).get("statusCode")})
    mail_people = [r.person_id for r in rows if r.channel == "email"
                   and r.person_id not in teams_people][:2]
    for person_id in mail_people:
        (mail, *_) = emulator.mailboxes[people[person_id].email]
        link = mail["body"]["content"].split('href="')[1].split('"')[0]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            sign_in = await (await browser.get(f"{base}/log-ind")).text()
            token = sign_in.split('name="csrf" value="')[1].split('"')[0]
            await browser.post(f"{base}/log-ind", data={"person": person_id, "csrf": token})
            page = await (await browser.get(link)).text()
            csrf = page.split('name="csrf" value="')[1].split('"')[0]
            async with browser.post(link, data={"csrf": csrf}) as response:
                steps.append({"step": "kvittering via e-mail-link", "person": person_id,
                              "status": response.status})
    return steps


async def _escalate_fast(services, alert_id: int) -> list[dict]:
    """Move the clock on in steps of the escalation time; the worker follows the same clock."""
    from notifications.escalation import escalate_due
    from notifications.models import Alert

    with Session(services.engine) as session:
        after = session.get(Alert, alert_id).escalate_after_s or 600
    start = utcnow()
    clock = {"now": start}
    services.worker.clock = lambda: clock["now"]
    steps = []
    for step in range(1, 4):
        clock["now"] = start + timedelta(seconds=after * step + 1)
        taken = await asyncio.to_thread(escalate_due, services.engine, clock["now"])
        await services.worker.run_until_idle(timeout=600)
        steps.append({"step": f"eskalering, runde {step}", "simuleret_tid_min": round(
            (clock["now"] - start).total_seconds() / 60, 1), "trin": taken})
    services.worker.clock = utcnow
    return steps


def _alerts_json(session, incident_id: int) -> list[dict]:
    """Each alert, and each recipient's final state per channel."""
    from notifications.models import Alert, Delivery
    from notifications.progress import alert_progress

    result = []
    for alert in session.exec(select(Alert).where(Alert.incident_id == incident_id)
                              .order_by(Alert.id)):
        people: dict[str, dict] = {}
        for d in session.exec(select(Delivery).where(Delivery.alert_id == alert.id)
                              .order_by(Delivery.id)):
            person = directory.get_person(session, d.person_id)
            entry = people.setdefault(d.person_id, {
                "person_id": d.person_id, "name": person.name, "authority": person.authority_code,
                "escalation_level": d.escalation_level, "on_behalf_of": d.on_behalf_of,
                "channels": {}, "acknowledged_at": None, "acknowledged_by": None})
            entry["channels"][d.channel] = d.state
            if d.acknowledged_at and not entry["acknowledged_at"]:
                entry["acknowledged_at"] = d.acknowledged_at.isoformat()
                entry["acknowledged_by"] = d.acknowledged_by
        summary = alert_progress(session, alert).as_json()
        summary["recipients_final"] = list(people.values())
        result.append(summary)
    return result


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
        EmulatorConfig(bot_endpoint=f"{base}/api/messages", redirect_uris=[f"{base}{CALLBACK_PATH}"],
                       record_dir=out, seed=7,
                       latency_ms=(5, 40), smtp_port=0), port=0)
    settings = demo_settings(emulator.base_url, public_url=base, worker_poll_seconds=0.2,
                             smtp_port=emulator.smtp_port,
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
            _write_jsonl(out / "audit.jsonl", (record.as_dict(e, session) for e in entries))
            rows = overview.deliveries(session, story["incident_id"])
            broken = record.verify_chain(session, story["incident_id"])
            alerts = _alerts_json(session, story["incident_id"])
            _plan_documents(session, story["plan_id"], out)
            _meeting_files(session, story["incident_id"], out, base)
            from handleplaner.commitments.service import board

            (out / "commitments.json").write_text(json.dumps(
                board(session, story["plan_id"]), ensure_ascii=False, indent=2), encoding="utf-8")
        (out / "alerts.json").write_text(json.dumps(alerts, ensure_ascii=False, indent=2),
                                         encoding="utf-8")
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
