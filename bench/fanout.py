"""Fan-out benchmark: one Akut alert to the whole demo organisation, through the local
Microsoft 365 emulator with realistic latency and Microsoft's published limits.

    .venv/bin/python bench/fanout.py [--out DIR] [--conversations installed|cold] [--faults]
                                     [--postgres URL] [--seed N] [--timeout S]

What it does, in-process (as ``bot/demo.py`` does):

1. Starts the emulator (``EmulatorConfig(latency_ms=(50, 150))``, limits on, the default; records
   to DIR/bot-requests.jsonl and DIR/graph-requests.jsonl) and the service (``bot.app.create_app``
   on a socket, demo settings, a fresh SQLite database or a private schema in ``--postgres``),
   which migrates the database and imports the demo organisation (about 400 people).
2. ``--conversations installed`` (the default): the bot is installed for everyone on Teams before
   the alert, so every Teams recipient has a stored personal conversation. This is the realistic
   state of a running service: an administrator deploys the app to everybody (app setup policy),
   Teams sends the bot a ``conversationUpdate`` per person and the bot keeps the conversation
   (``bot/agent.py``). The bench sends those with ``emulator.send_install_update``, paced under
   the per-app limit. Whoever the bot did not keep on install then gets a warm-up alert (its own
   incident), whose delivery stores the conversation as any earlier alert would; the first output
   line says how many conversations came from each. Then it waits for the limit windows to
   clear. ``cold`` skips all this: every Teams
   delivery must first create the conversation (``POST /v3/conversations``), which doubles the
   Teams requests and so the bound.
3. Acceptance: in one transaction, the incident is opened (``handleplaner.incidents.activate``,
   whole city, Akut) and ``notifications.outbox.enqueue_alert`` writes one alert to every active
   person, one delivery per person per directory channel (``requires_ack=True`` when the outbox
   offers that keyword). The moment that transaction has committed is t=0.
4. The delivery worker (the service's own ``DeliveryWorker``) runs until nothing is queued.
   With ``--faults`` the emulator plays ``FAULT_MIX`` on Graph and the Bot Connector from the
   alert's acceptance until the worker is done: 5 % of the calls that change something
   (sendMail, conversations, activities) take effect and lose their answer (the connection is
   reset), and another 15 % are refused before taking effect (10 % 500/502/503, 5 % 429 with
   Retry-After). The read-backs are Graph calls too and get their share of errors and 429s.
5. Measures from the emulator's records: the first and last successful (2xx) Teams activity post
   (``POST /connector/v3/conversations/{id}/activities``) and Graph ``sendMail`` by ``ts_end``,
   the 429s the emulator answered, the deliveries that ended "fejlet" and duplicates: (person,
   channel) pairs whose chat or mailbox holds the incident's alert more than once.

The last line of output is the benchmark's result (part of the product's interface):

    fanout recipients=N first_s=X last_s=Y bound_s=Z ratio=R failed=F duplicates=D
           faults=on|off lost=L duplicated=D

``lost``: (person, channel) pairs the alert was accepted for whose chat or mailbox never got it;
``duplicated``: pairs that got it more than once (the same figure as ``duplicates``); both are
counted from what the emulator received, per channel in ``fanout-summary.json``.

``bound_s`` — the least time Microsoft's limits allow for this fan-out:

* Teams: every request to the Bot Connector counts against 50 requests per second per app
  (per-conversation limits do not bind: one message per person). A person with a stored
  conversation costs 1 request (POST activities), a person without costs 2 (POST conversations,
  then POST activities). So Teams needs requests/50 seconds at the sustained rate.
* Email: one ``sendMail`` per 500 recipients (BCC), within 30 messages per minute and 4
  concurrent requests per mailbox: ceil(n/500) messages, which for a few hundred people is one
  request, so the email term is 0 (plus a minute per further 30 messages, were there more).
* bound = the largest channel term + one round trip at the emulator's minimum latency (50 ms):
  a delivery is never recorded sooner than that after acceptance.

The sliding window admits a burst of 50 at once, so the strict floor for r Teams requests is
(ceil(r/50) - 1) s + one latency; the bench prints it too, but the bound in the final line is
the sustained-rate figure r/50 s, as in the design note microsoft365.md (400 / 50 = 8 s).

Targets: ratio <= 1.2, first_s <= 1.0, failed = 0, duplicates = 0; with ``--faults``:
lost = 0, duplicated = 0 (the ratio is not a target then: every 429 holds the channel back).
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import math
import re
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.keys import SERVICES  # noqa: E402
from bot.serve import emulator_people  # noqa: E402
from bot.services import demo_settings  # noqa: E402
from handleplaner.clock import local, utcnow  # noqa: E402
from handleplaner.directory import queries as directory  # noqa: E402
from handleplaner.incidents import activate  # noqa: E402
from handleplaner.storage import make_engine, normalise_url, transaction  # noqa: E402
from m365emulator import EmulatorConfig, start_emulator  # noqa: E402
from m365emulator import quotas as ms_limits  # noqa: E402
from m365emulator.faults import Faults  # noqa: E402
from notifications import outbox  # noqa: E402
from notifications.models import FAILED, Delivery, DeliveryAttempt, TeamsConversation  # noqa: E402

ACTIVITY_POST = re.compile(r"^/connector/v3/conversations/[^/]+/activities$")
CREATE_CONVERSATION = "/connector/v3/conversations"
INSTALL_RATE = 25  # install updates per second (each makes the bot post a welcome: < 50/s)
# --faults: 5 % of the answers lost after the call took effect, 15 % refused before it did.
FAULT_MIX = {"apis": ["graph", "bot"], "lost_rate": 0.05, "lost_mode": "reset",
             "error_rate": 0.10, "error_status": [500, 502, 503],
             "throttle_rate": 0.05, "retry_after": 1}


# The bound -------------------------------------------------------------------------------------
def teams_rate() -> float:
    """Requests per second the Bot Connector allows one app (the emulator's published limit)."""
    return min(limit / period for limit, period in ms_limits.TEAMS_PER_APP)


def email_seconds(n_email: int, latency_floor: float) -> float:
    """Least time for ``n_email`` BCC recipients: 500 per message, 30 messages per minute,
    4 concurrent requests; the rounds of 4 after the first add a round trip each."""
    if n_email == 0:
        return 0.0
    if n_email > min(limit for limit, _ in ms_limits.MAIL_RECIPIENTS_PER_MAILBOX):
        return math.inf  # more recipients than one mailbox may reach in 24 hours
    messages = math.ceil(n_email / ms_limits.MAIL_RECIPIENTS_PER_MESSAGE)
    per_minute = min(limit for limit, period in ms_limits.MAIL_MESSAGES_PER_MAILBOX if period == 60)
    minutes = (messages - 1) // per_minute
    rounds = math.ceil(min(messages, per_minute) / ms_limits.GRAPH_MAILBOX_CONCURRENCY)
    return minutes * 60.0 + (rounds - 1) * latency_floor


def bound(teams_requests: int, n_email: int, latency_floor: float) -> dict:
    rate = teams_rate()
    teams = teams_requests / rate
    strict = (math.ceil(teams_requests / rate) - 1) if teams_requests else 0.0
    email = email_seconds(n_email, latency_floor)
    return {"teams_s": teams, "email_s": email, "latency_floor_s": latency_floor,
            "bound_s": max(teams, email) + latency_floor,
            "strict_floor_s": max(strict, email) + latency_floor}


# Setting up ------------------------------------------------------------------------------------
def private_postgres_schema(url: str) -> tuple[str, str]:
    """A new schema in the given PostgreSQL database; the URL that uses it by search_path."""
    schema = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    parsed = make_url(normalise_url(url))
    scoped = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, scoped.render_as_string(hide_password=False)


def drop_postgres_schema(url: str, schema: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


async def install_bot_for(emulator, user_ids: list[str]) -> Counter:
    """Teams' conversationUpdate for each user, at INSTALL_RATE per second."""
    statuses: Counter = Counter()
    step = 1.0 / INSTALL_RATE
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(index: int, user_id: str) -> None:
        await asyncio.sleep(max(0.0, start + index * step - loop.time()))
        try:
            status, _ = await emulator.send_install_update(user_id)
        except Exception as error:  # noqa: BLE001 - counted and reported
            status = type(error).__name__
        statuses[status] += 1

    await asyncio.gather(*(one(i, u) for i, u in enumerate(user_ids)))
    return statuses


def _incident_data(title: str) -> dict:
    occurred = local(utcnow() - timedelta(minutes=10)).replace(tzinfo=None)
    return {
        "incident_type": "skyderi", "title": title,
        "description": "Benchmark: ét Akut-varsel til hele organisationen.",
        "severity": "akut", "occurred_at": occurred.isoformat(timespec="minutes"),
        "areas": [], "whole_city": True, "exercise": False, "confidential": False,
    }


def all_hands_alert(engine, *, actor_id: str) -> dict:
    """Open an Akut incident for the whole city and accept one alert to every active person,
    in one transaction (as bot/activation.py does for the activation audience)."""
    data = _incident_data("Skud affyret flere steder i byen (fan-out-benchmark)")
    keywords = {}
    requires_ack = "requires_ack" in inspect.signature(outbox.enqueue_alert).parameters
    if requires_ack:
        keywords["requires_ack"] = True
    with transaction(engine) as session:
        incident = activate(session, actor_id=actor_id, data=data).incident
        audience = directory.list_people(session)
        accepted = outbox.enqueue_alert(
            session, incident_id=incident.id, kind="aktivering", severity="akut", exercise=False,
            title="Beredskab aktiveret: alle varsles", body=f"Akut: {incident.title}",
            audience=audience, actor_id=actor_id,
            dedupe_key=f"bench-fanout:{uuid.uuid4().hex}", **keywords)
        facts = {
            "incident_id": incident.id, "reference": incident.reference,
            "alert_id": accepted.alert.id, "requires_ack": requires_ack,
            "audience": [{"id": p.id, "email": (p.email or "").lower() or None,
                          "teams_user_id": p.teams_user_id} for p in audience],
            "deliveries": [(d.person_id, d.channel) for d in accepted.deliveries],
            "unreachable": list(accepted.unreachable),
        }
    facts["accepted_at"] = time.time()  # the commit has returned: the alert is accepted
    return facts


def stored_conversations(engine, *, by_user: bool = False) -> set[str]:
    """Person ids (or Teams user ids) with a personal conversation the service has kept."""
    with Session(engine) as session:
        people = {c.person_id for c in session.exec(select(TeamsConversation))}
        if not by_user:
            return people
        return {p.teams_user_id for p in directory.list_people(session) if p.id in people}


async def warm_up(services, actor_id: str, teams_user_ids: list[str], *, timeout: float) -> None:
    """An earlier alert (its own incident) to these people, delivered in full."""
    if not teams_user_ids:
        return
    wanted = set(teams_user_ids)
    with transaction(services.engine) as session:
        incident = activate(session, actor_id=actor_id, data=_incident_data(
            "Forudgående varsel (fan-out-benchmark, opvarmning)")).incident
        audience = [p for p in directory.list_people(session) if p.teams_user_id in wanted]
        outbox.enqueue_alert(
            session, incident_id=incident.id, kind="aktivering", severity="akut", exercise=False,
            title="Opvarmning", body="Opvarmning", audience=audience, actor_id=actor_id,
            dedupe_key=f"bench-fanout-warmup:{uuid.uuid4().hex}")
    await services.worker.run_until_idle(timeout=timeout)


# Measuring -------------------------------------------------------------------------------------
def _successful(record: dict) -> bool:
    return isinstance(record.get("status"), int) and 200 <= record["status"] < 300


def _mentions(reference: str, *texts) -> bool:
    return any(isinstance(t, str) and f"[{reference}]" in t for t in texts)


def deliveries_seen(emulator, records: list[dict], reference: str) -> dict:
    """The successful Teams posts and sendMail calls of the alert, by ts_end."""
    teams, email = [], []
    for r in records:
        body = r.get("body") if isinstance(r.get("body"), dict) else {}
        if r.get("api") == "bot" and r.get("method") == "POST" and ACTIVITY_POST.match(r["path"]):
            cards = [a.get("content") or {} for a in body.get("attachments") or []
                     if isinstance(a, dict)]
            if _successful(r) and _mentions(reference, body.get("summary"), body.get("text"),
                                            *(c.get("fallbackText") for c in cards)):
                teams.append(r)
        elif r.get("api") == "graph" and r["path"].endswith("/sendMail"):
            if _successful(r) and _mentions(reference, r.get("subject")):
                email.append(r)
    return {"teams": teams, "email": email}


def chat_copies(emulator, user_id: str, reference: str) -> int:
    count = 0
    for entry in emulator.chats.get(user_id, []):
        if entry.get("deleted"):
            continue
        activity = entry["activity"]
        cards = [a.get("content") or {} for a in activity.get("attachments") or []
                 if isinstance(a, dict)]
        # the first version too: an acknowledged card is replaced in place, not posted again
        first = (entry.get("history") or [activity])[0]
        if _mentions(reference, activity.get("summary"), first.get("summary"),
                     *(c.get("fallbackText") for c in cards)):
            count += 1
    return count


def mailbox_copies(emulator, address: str, reference: str) -> int:
    return sum(1 for m in emulator.mailboxes.get(address, []) if _mentions(reference, m["subject"]))


def _epoch(moment) -> float:
    """Stored timestamps are UTC; SQLite gives them back without the zone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def measure(emulator, services, facts: dict, records: list[dict]) -> dict:
    t0 = facts["accepted_at"]
    reference = facts["reference"]
    seen = deliveries_seen(emulator, records, reference)
    people = {p["id"]: p for p in facts["audience"]}
    per_channel = defaultdict(set)
    for person_id, channel in facts["deliveries"]:
        per_channel[channel].add(person_id)

    copies: dict[tuple[str, str], int] = {}
    for person_id in per_channel["teams"]:
        copies[(person_id, "teams")] = chat_copies(emulator, people[person_id]["teams_user_id"],
                                                   reference)
    for person_id in per_channel["email"]:
        copies[(person_id, "email")] = mailbox_copies(emulator, people[person_id]["email"],
                                                      reference)
    duplicates = sorted(k for k, n in copies.items() if n > 1)
    missing = sorted(k for k, n in copies.items() if n == 0)
    by_channel = {channel: {"recipients": len(people_of),
                            "lost": sum(1 for p in people_of if copies[(p, channel)] == 0),
                            "duplicated": sum(1 for p in people_of if copies[(p, channel)] > 1)}
                  for channel, people_of in per_channel.items() if channel in ("teams", "email")}

    with Session(services.engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.alert_id == facts["alert_id"])))
        attempts = list(session.exec(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id.in_([d.id for d in rows]))))
    states = Counter((d.channel, d.state) for d in rows)
    # How long after Teams answered did the worker write "sendt" (its settle backlog)?
    answered = {r.get("activity_id"): r["ts_end"] for r in seen["teams"] if r.get("activity_id")}
    lags = sorted(_epoch(d.sent_at) - answered[d.provider_message_id] for d in rows
                  if d.channel == "teams" and d.sent_at and d.provider_message_id in answered)
    outcomes = Counter(a.outcome for a in attempts)

    throttled = Counter()
    requests = Counter()
    faults = Counter()
    for r in records:
        if r.get("api") in ("bot", "graph"):
            kind = ("teams:create" if r["path"] == CREATE_CONVERSATION else
                    "teams:post" if ACTIVITY_POST.match(r["path"]) else
                    "email:sendMail" if r["path"].endswith("/sendMail") else f"{r['api']}:other")
            requests[kind] += 1
            if r.get("status") == 429:
                throttled[kind] += 1
            if r.get("fault"):
                faults[f"{r['fault']} {kind}"] += 1

    timing = {}
    for channel, found in seen.items():
        ends = sorted(r["ts_end"] - t0 for r in found)
        timing[channel] = {"calls": len(found), "first_s": ends[0] if ends else None,
                           "last_s": ends[-1] if ends else None,
                           "recipients": sum(1 for k, n in copies.items()
                                             if k[1] == channel and n > 0)}
    ends = [t["last_s"] for t in timing.values() if t["last_s"] is not None]
    starts = [t["first_s"] for t in timing.values() if t["first_s"] is not None]
    return {
        "recipients": len({person for person, _ in facts["deliveries"]}),
        "channels": {c: len(p) for c, p in per_channel.items()},
        "timing": timing,
        "first_s": min(starts) if starts else math.inf,
        "last_s": max(ends) if ends else math.inf,
        "failed": sum(1 for d in rows if d.state == FAILED),
        "duplicates": len(duplicates), "duplicate_pairs": duplicates[:50],
        "by_channel": by_channel, "faults_played": dict(faults),
        "missing": len(missing), "missing_pairs": missing[:50],
        "states": {f"{c}:{s}": n for (c, s), n in sorted(states.items())},
        "attempt_outcomes": dict(outcomes),
        "requests": dict(requests), "throttled": dict(throttled),
        "settle_lag_s": ({"median": lags[len(lags) // 2], "max": lags[-1]} if lags else None),
    }


# Running ---------------------------------------------------------------------------------------
async def run(args) -> dict:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("graph-requests.jsonl", "bot-requests.jsonl", "fanout-summary.json"):
        (out / stale).unlink(missing_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="beredskab-bench-"))
    schema = None
    if args.postgres:
        schema, database_url = private_postgres_schema(args.postgres)
    else:
        database_url = f"sqlite:///{workdir / 'bench.db'}"

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    latency = tuple(args.latency_ms)
    emulator, emulator_runner = await start_emulator(
        EmulatorConfig(bot_endpoint=f"{base}/api/messages", record_dir=out, seed=args.seed,
                       latency_ms=latency), port=0)
    settings = demo_settings(emulator.base_url, public_url=base, database_url=database_url,
                             worker_poll_seconds=0.05)
    runner = web.AppRunner(create_app(settings, start_worker=False), access_log=None)
    await runner.setup()  # migrates, imports the demo organisation, builds the worker
    try:
        services = runner.app[SERVICES]
        emulator.config.people = emulator_people(services.engine)
        await web.SockSite(runner, sock).start()
        worker = services.worker

        # The worker's rounds, for the diagnosis (wrapping the instance's claim; nothing else).
        rounds: list[tuple[float, int]] = []
        claim = getattr(worker, "claim", None)

        def counted_claim(*a, **k):
            ids = claim(*a, **k)
            if ids:
                rounds.append((time.time(), len(ids)))
            return ids

        if callable(claim):
            worker.claim = counted_claim

        with Session(services.engine) as session:
            actor = directory.secretariat_members(session)[0].id
            teams_users = [p.teams_user_id for p in directory.list_people(session)
                           if "teams" in outbox.channels_of(p)]
        installs: Counter = Counter()
        from_install = from_warmup = 0
        if args.conversations == "installed":
            installs = await install_bot_for(emulator, teams_users)
            from_install = len(stored_conversations(services.engine))
            # Whoever the bot did not keep on install gets a warm-up alert (another incident),
            # whose delivery stores the conversation, as any earlier alert would have.
            await warm_up(services, actor, [u for u in teams_users if u not in
                                            stored_conversations(services.engine, by_user=True)],
                          timeout=args.timeout)
            await asyncio.sleep(2.0)  # let the per-app and per-conversation windows clear
        stored = stored_conversations(services.engine)
        from_warmup = len(stored) - from_install

        marker = len(emulator.requests)
        rounds.clear()  # only the measured alert's rounds
        if args.faults:
            emulator.set_faults(Faults.from_json(FAULT_MIX), seed=args.seed)
        facts = all_hands_alert(services.engine, actor_id=actor)
        timed_out = False
        try:
            await worker.run_until_idle(timeout=args.timeout)
        except TimeoutError:
            timed_out = True
        finally:
            emulator.clear_faults()
        finished = time.time()
        records = emulator.requests[marker:]
        result = measure(emulator, services, facts, records)

        teams_people = {p for p, c in facts["deliveries"] if c == "teams"}
        teams_requests = sum(1 if p in stored else 2 for p in teams_people)
        limits = bound(teams_requests, result["channels"].get("email", 0), latency[0] / 1000.0)
        result.update(
            bound=limits, bound_s=limits["bound_s"],
            ratio=result["last_s"] / limits["bound_s"] if limits["bound_s"] else math.inf,
            requires_ack=facts["requires_ack"], conversations=args.conversations,
            stored_conversations_before=len(stored & teams_people), teams_requests=teams_requests,
            installs={str(k): v for k, v in installs.items()}, timed_out=timed_out,
            conversations_from_install=from_install, conversations_from_warmup=from_warmup,
            worker_rounds=[{"at_s": t - facts["accepted_at"], "claimed": n} for t, n in rounds],
            run_s=finished - facts["accepted_at"], database=("postgresql" if schema else "sqlite"),
            accepted_at=facts["accepted_at"], reference=facts["reference"],
            alert_id=facts["alert_id"], latency_ms=list(latency), seed=args.seed,
            unreachable=len(facts["unreachable"]), faults=bool(args.faults),
            fault_mix=FAULT_MIX if args.faults else None,
        )
        (out / "fanout-summary.json").write_text(
            json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        return result
    finally:
        await runner.cleanup()
        await emulator_runner.cleanup()
        if schema:
            drop_postgres_schema(args.postgres, schema)


def _s(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isinf(value)) else f"{value:.2f}"


def report(r: dict) -> list[str]:
    b = r["bound"]
    lines = [
        f"database={r['database']} latency_ms={r['latency_ms'][0]}-{r['latency_ms'][1]} "
        f"conversations={r['conversations']} (stored before the alert: "
        f"{r['stored_conversations_before']}/{r['channels'].get('teams', 0)}"
        + (f"; kept by the bot on install {r['conversations_from_install']}, "
           f"by a warm-up alert {r['conversations_from_warmup']}"
           if r["conversations"] == "installed" else "") + ") "
        f"requires_ack={'passed' if r['requires_ack'] else 'not offered by enqueue_alert'}",
        f"alert {r['alert_id']} ({r['reference']}): {r['recipients']} recipients, "
        + ", ".join(f"{c} {n}" for c, n in sorted(r["channels"].items()))
        + (f", {r['unreachable']} without channel" if r["unreachable"] else ""),
    ]
    for channel, t in sorted(r["timing"].items()):
        lines.append(f"  {channel}: {t['calls']} successful calls reached {t['recipients']} "
                     f"recipients, first_s={_s(t['first_s'])} last_s={_s(t['last_s'])}")
    lines.append("requests after acceptance: "
                 + ", ".join(f"{k} {v}" for k, v in sorted(r["requests"].items()))
                 + f"; 429 answered: {sum(r['throttled'].values())}"
                 + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(r["throttled"].items())) + ")"
                    if r["throttled"] else ""))
    lines.append("delivery states: " + ", ".join(f"{k} {v}" for k, v in r["states"].items())
                 + "; attempts: " + ", ".join(f"{k} {v}" for k, v in
                                              sorted(r["attempt_outcomes"].items())))
    if r.get("settle_lag_s"):
        lines.append(f"worker wrote Teams outcomes {r['settle_lag_s']['median']:.2f} s (median), "
                     f"{r['settle_lag_s']['max']:.2f} s (max) after the connector answered")
    lines.append("worker rounds (s after acceptance: claimed): " + ", ".join(
        f"{w['at_s']:.2f}: {w['claimed']}" for w in r["worker_rounds"]))
    lines.append(f"bound: teams {r['teams_requests']} requests / {teams_rate():.0f} per s = "
                 f"{b['teams_s']:.2f} s, email {b['email_s']:.2f} s, + latency floor "
                 f"{b['latency_floor_s']:.2f} s = {b['bound_s']:.2f} s "
                 f"(strict sliding-window floor {b['strict_floor_s']:.2f} s)")
    if r["faults"]:
        lines.append("faults played: " + (", ".join(f"{k} {v}" for k, v in
                                                     sorted(r["faults_played"].items())) or "none"))
    lines.append("per channel: " + ", ".join(
        f"{c} {v['recipients']} recipients lost {v['lost']} duplicated {v['duplicated']}"
        for c, v in sorted(r["by_channel"].items())))
    if r["missing"]:
        lines.append(f"MISSING: {r['missing']} (person, channel) pairs got nothing: "
                     f"{r['missing_pairs'][:5]}")
    if r["duplicates"]:
        lines.append(f"DUPLICATES: {r['duplicate_pairs'][:5]}")
    if r["timed_out"]:
        lines.append("TIMEOUT: deliveries were still queued when the worker was stopped")
    lines.append(f"fanout recipients={r['recipients']} first_s={_s(r['first_s'])} "
                 f"last_s={_s(r['last_s'])} bound_s={_s(r['bound_s'])} ratio={_s(r['ratio'])} "
                 f"failed={r['failed']} duplicates={r['duplicates']} "
                 f"faults={'on' if r['faults'] else 'off'} lost={r['missing']} "
                 f"duplicated={r['duplicates']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    # The connector client logs every 429 it gets; the bench counts them from the records.
    logging.getLogger("microsoft_agents").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench-out/fanout",
                        help="where the emulator's records go (default bench-out/fanout)")
    parser.add_argument("--conversations", choices=("installed", "cold"), default="installed",
                        help="installed: the bot is installed for everyone before the alert "
                             "(stored conversations); cold: none stored")
    parser.add_argument("--faults", action="store_true",
                        help="the emulator loses 5%% of the answers after the call took effect "
                             "and fails or throttles another 15%% (FAULT_MIX)")
    parser.add_argument("--postgres", metavar="URL",
                        help="run on PostgreSQL (a private schema in this database, dropped after)")
    parser.add_argument("--latency-ms", nargs=2, type=int, default=(50, 150), metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds the worker may take before the run is stopped")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    for line in report(result):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
