"""Load benchmark: two hundred leaders press buttons on their task cards in Teams within a minute,
while a whole-city alert fans out and the secretariat watches the commitment boards live.

    .venv/bin/python bench/load.py [--out DIR] [--postgres URL] [--presses 200] [--seconds 60]
                                   [--incidents 10] [--streams 6] [--seed N] [--py-spy FILE]

Two processes, so the load does not share the service's event loop:

* The service: ``beredskab serve --demo --emulator-url URL`` in a process of its own (this file
  started again with ``--as-service``, which calls the same ``bot.serve.serve`` and adds a probe
  that logs how late the event loop runs a 10 ms timer, worst per second). It runs its delivery
  worker and scheduler, on a fresh database: with ``--postgres URL`` a new database
  ``beredskab_load_<random>`` on that server (created here, dropped afterwards), otherwise a
  SQLite file.
* This process: the Microsoft 365 emulator (Microsoft's published limits on, 50-150 ms latency
  per Graph and Bot Connector call, records in DIR), playing Teams and the people.

Setup (not measured), through the service's JSON API as the secretariat (demo header):
``--incidents`` incidents in different areas, each with a plan (template "skyderi") to which
measures are added so that at least ``--presses`` distinct leaders each own a commitment (a
measure's leader is a person of its authority who gets task cards in Teams; with ten plans every
authority's card stays under Teams' 28 KB), and each plan is sent: the service posts each
authority's task card to its leaders in Teams. A whole-city incident is opened too (its
activation alert goes out). The bench waits until nothing is queued.

Measured minute:

1. t=0: an alert about the whole-city incident to every authority (all 408 people, Teams and
   e-mail: 753 deliveries) is accepted through the API; the service's worker fans it out under
   Microsoft's limits (about 12 s).
2. ``--streams`` people of the secretariat hold commitment boards open
   (``GET /haendelser/{id}/opgaver/stroem``, server-sent events), spread over the incidents.
3. ``--presses`` presses arrive over ``--seconds`` seconds as a Poisson process (that many arrival
   times drawn uniformly over the window, sorted). Each is a distinct leader pressing a button
   on the task card Teams shows them: an ``invoke`` activity (``adaptiveCard/action``,
   Action.Execute with the button's own data; every tenth declines with a reason, the rest
   confirm) with ``replyToId`` the card's activity, signed with the emulator's Bot Framework key,
   POSTed to ``/api/messages`` over a kept-alive connection.

Latency of a press: from just before the request is written (the token is signed beforehand)
to the complete response, the refreshed card, measured here with ``time.perf_counter``. An
error is a transport failure, a status other than 200, or an invoke response that is not the
card (``statusCode`` not 200 or an ``application/vnd.microsoft.error`` value); a press that the
record does not hold exactly once (``opgave.bekraeftet`` or ``opgave.afvist`` for its
commitment) counts as an error too. The emulator shares this process's event loop, so any delay
it causes is counted against the service (the figures err on the slow side). Nothing else
should run on the machine meanwhile: the target is about this machine's two cores.

Results go to DIR (default bench-out/load): ``load-summary.json`` (every press with its send
time and latency, the fan-out, the streams, the loop lag), the emulator's records and
``service.log``. ``--py-spy FILE`` samples the service during the minute (py-spy installed
separately; collapsed stacks, or speedscope's format for a .json FILE). The environment variable
``BENCH_LOOP_WATCH=<ms>`` makes the service log the event loop's stack (and the other threads')
whenever the loop stalls longer than that. The last line of output is the result:

    load presses=N errors=E p50_ms=A p99_ms=B

Targets (issue 9): E = 0 and B <= 100 on PostgreSQL on a 2-core machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import func, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

DEMO = "X-Demo-Person"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
DECLINE_EVERY = 10  # every tenth press declines (with a reason); the rest confirm


# The service process ---------------------------------------------------------------------------
def serve_service(args) -> int:
    """``--as-service``: ``beredskab serve --demo --emulator-url URL`` (``bot.serve.serve``, the
    same function), with a probe of its event loop's lag written to its log."""
    from bot.serve import serve

    if os.environ.get("BENCH_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))

    async def main() -> int:
        probe = asyncio.ensure_future(loop_lag_probe())
        if os.environ.get("BENCH_LOOP_WATCH"):
            watch_loop(float(os.environ["BENCH_LOOP_WATCH"]))
        try:
            return await serve(host="127.0.0.1", port=args.port, demo=True, emulator_port=0,
                               emulator_url=args.emulator_url)
        finally:
            probe.cancel()

    return asyncio.run(main())


async def loop_lag_probe(period: float = 0.01) -> None:
    """How late the service's event loop runs a 10 ms timer, worst per second, to its log
    (``looplag <epoch second> <ms>``): what a request waits before the loop gets to it."""
    loop = asyncio.get_running_loop()
    second, worst = int(time.time()), 0.0
    while True:
        start = loop.time()
        await asyncio.sleep(period)
        worst = max(worst, (loop.time() - start - period) * 1000)
        if int(time.time()) != second:
            print(f"looplag {second} {worst:.1f}", flush=True)
            second, worst = int(time.time()), 0.0


def watch_loop(threshold_ms: float) -> None:
    """Diagnosis (BENCH_LOOP_WATCH=<ms>): a thread that prints the event loop thread's stack
    whenever the loop has not run its probe for longer than the threshold."""
    import threading
    import traceback

    loop = asyncio.get_running_loop()
    main = threading.get_ident()
    beat = [time.monotonic()]

    def tick() -> None:
        beat[0] = time.monotonic()
        loop.call_later(0.005, tick)

    def watch() -> None:
        reported = 0.0
        while True:
            time.sleep(threshold_ms / 3000)
            stalled = (time.monotonic() - beat[0]) * 1000
            if stalled > threshold_ms and beat[0] != reported:
                reported = beat[0]
                frames = sys._current_frames()
                others = "".join(
                    f"  thread {ident}:\n" + "".join(traceback.format_stack(frame)[-6:])
                    for ident, frame in frames.items() if ident not in (main, threading.get_ident()))
                print(f"loopstall {stalled:.0f} ms\n"
                      + "".join(traceback.format_stack(frames.get(main))[-25:])
                      + " other threads:\n" + others, flush=True)

    tick()
    threading.Thread(target=watch, daemon=True, name="loop-watch").start()


def loop_lag(log_path: Path, start: float, end: float) -> dict:
    """The worst event-loop lag the service logged between two moments (epoch seconds)."""
    lags = []
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "looplag" and start - 1 <= int(parts[1]) <= end:
            lags.append((int(parts[1]) - int(start), float(parts[2])))
    worst = max(lags, key=lambda item: item[1], default=(None, 0.0))
    return {"max_ms": worst[1], "at_s": worst[0],
            "seconds_over_50ms": sum(1 for _, lag in lags if lag > 50)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The database ----------------------------------------------------------------------------------
def create_postgres_database(url: str) -> tuple[str, str]:
    """A new database on the server at ``url``; (its name, its URL)."""
    from handleplaner.storage import make_engine, normalise_url

    name = f"beredskab_load_{uuid.uuid4().hex[:8]}"
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return name, make_url(normalise_url(url)).set(database=name).render_as_string(
        hide_password=False)


def drop_postgres_database(url: str, name: str) -> None:
    from handleplaner.storage import make_engine

    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# Setting up ------------------------------------------------------------------------------------
class Api:
    """The service's JSON API as one person of the secretariat (demo mode's header)."""

    def __init__(self, http: aiohttp.ClientSession, base: str, person_id: str) -> None:
        self.http, self.base, self.headers = http, base, {DEMO: person_id}

    async def call(self, method: str, path: str, body: dict | None = None) -> dict:
        async with self.http.request(method, self.base + path, json=body,
                                     headers=self.headers) as response:
            data = await response.json(content_type=None)
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {data}")
            return data


def _incident_data(title: str, areas: list[str], *, whole_city: bool = False) -> dict:
    from handleplaner.clock import local, utcnow

    occurred = local(utcnow() - timedelta(minutes=20)).replace(tzinfo=None)
    return {"incident_type": "skyderi", "title": title,
            "description": "Belastningstest: uro flere steder i byen.", "severity": "akut",
            "occurred_at": occurred.isoformat(timespec="minutes"), "areas": areas,
            "whole_city": whole_city, "exercise": False, "confidential": False}


def leader_pool(engine, taken: set[str]) -> list:
    """Active people who get their task cards in Teams and own nothing yet, ordered by
    authority (then id)."""
    from handleplaner.directory import queries as directory
    from notifications.outbox import first_channels

    with Session(engine) as session:
        people = [p for p in directory.list_people(session)
                  if p.active and p.id not in taken and first_channels(p, "varsling") == ["teams"]]
    return sorted(people, key=lambda p: (p.authority_code, p.id))


def owners(engine, plan_ids: list[int]) -> dict[str, list[int]]:
    from handleplaner.commitments.models import Commitment

    with Session(engine) as session:
        rows = session.exec(select(Commitment).where(Commitment.plan_id.in_(plan_ids)))
        found: dict[str, list[int]] = defaultdict(list)
        for c in rows:
            if c.responsible_id:
                found[c.responsible_id].append(c.id)
        return found


async def set_up_plans(api: Api, engine, *, incidents: int, leaders: int) -> list[dict]:
    """``incidents`` area incidents, each with a sent plan; together at least ``leaders``
    distinct people own a commitment."""
    from handleplaner.directory import queries as directory

    with Session(engine) as session:
        areas = [a.code for a in directory.all_areas(session)]
    if len(areas) < incidents:
        raise SystemExit(f"only {len(areas)} areas for {incidents} incidents")
    plans = []
    for number in range(incidents):
        area = areas[number * len(areas) // incidents]
        incident = await api.call("POST", "/api/incidents", _incident_data(
            f"Uro i område {area} (belastningstest {number + 1})", [area]))
        plan = await api.call("POST", f"/api/incidents/{incident['id']}/plan",
                              {"template": "skyderi"})
        plans.append({"incident_id": incident["id"], "reference": incident["reference"],
                      "plan_id": plan["id"], "template_measures": plan["measures"]})
    # The template's measures already have owners (the areas' ledergruppe leaders).
    from handleplaner.plans.models import PlanMeasure

    with Session(engine) as session:
        taken = {m.responsible_id for m in session.exec(select(PlanMeasure).where(
            PlanMeasure.plan_id.in_([p["plan_id"] for p in plans]))) if m.responsible_id}
    pool = leader_pool(engine, set())
    on_teams = sum(1 for p in pool if p.id in taken)  # template owners who can press in Teams
    pool = [p for p in pool if p.id not in taken]
    missing = max(0, leaders - on_teams)
    if len(pool) < missing:
        raise SystemExit(f"the demo organisation has {len(pool)} more people on Teams; "
                         f"{missing} are needed")
    chosen = pool[:missing] if missing else []
    # Deal the people out so every plan gets a share of each authority.
    shares: list[list] = [[] for _ in plans]
    for index, person in enumerate(chosen):
        shares[index % len(plans)].append(person)
    for plan, people in zip(plans, shares):
        sample = plan["template_measures"][0]
        for person in people:
            await api.call("POST", f"/api/plans/{plan['plan_id']}/measures", {
                "title": f"Opsøgende indsats ved {person.authority_code} ({person.id[-6:]})",
                "measure_type": "opsoegende", "authority": person.authority_code,
                "responsible": person.id, "starts_at": sample["starts_at"],
                "ends_at": sample["ends_at"]})
        sent = await api.call("POST", f"/api/plans/{plan['plan_id']}/send", {})
        plan["version_id"] = sent["version_id"]
    return plans


async def drain(engine, timeout: float) -> None:
    """Wait until the service's worker has nothing queued."""
    from notifications.models import QUEUED, Delivery

    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            queued = session.exec(select(func.count()).select_from(Delivery)
                                  .where(Delivery.state == QUEUED)).one()
        if not queued:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"setup: {queued} deliveries still queued after {timeout:.0f} s")
        await asyncio.sleep(0.5)


def _actions(card: dict):
    """Every Action.Execute on an adaptive card, wherever it sits."""
    stack = [card]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def find_button(emulator, user_id: str, commitment_id: int, verb: str) -> tuple[str, dict] | None:
    """The newest card in the person's Teams chat with this button: (activity id, its data)."""
    for entry in reversed(emulator.chats.get(user_id, [])):
        for attachment in entry["activity"].get("attachments") or []:
            if not isinstance(attachment, dict) or attachment.get("contentType") != ADAPTIVE_CARD:
                continue
            for action in _actions(attachment.get("content") or {}):
                data = action.get("data") or {}
                if action.get("verb") == verb and data.get("commitment_id") == commitment_id:
                    return entry["id"], dict(data)
    return None


def plan_presses(emulator, engine, plans: list[dict], count: int) -> list[dict]:
    """One press for each of ``count`` distinct leaders, on the card Teams shows them."""
    from handleplaner.directory import queries as directory

    found = owners(engine, [p["plan_id"] for p in plans])
    presses = []
    with Session(engine) as session:
        for person_id in sorted(found):
            person = directory.get_person(session, person_id)
            if person is None or not person.teams_user_id:
                continue
            commitment_id = found[person_id][0]
            verb = "afvis" if (len(presses) + 1) % DECLINE_EVERY == 0 else "bekraeft"
            button = find_button(emulator, person.teams_user_id, commitment_id, verb)
            if button is None:
                continue
            activity_id, data = button
            if verb == "afvis":
                data[f"grund_{commitment_id}"] = "Ingen ledige medarbejdere i tidsrummet."
            presses.append({"person_id": person_id, "user_id": person.teams_user_id,
                            "commitment_id": commitment_id, "verb": verb,
                            "activity_id": activity_id, "data": data})
            if len(presses) == count:
                break
    if len(presses) < count:
        raise SystemExit(f"setup: only {len(presses)} leaders have a task card to press")
    return presses


# The measured minute ---------------------------------------------------------------------------
async def press_once(http: aiohttp.ClientSession, emulator, press: dict) -> dict:
    """One signed Action.Execute invoke, timed from the request to the whole answer."""
    from m365emulator.teams_activities import build_incoming_activity

    config = emulator.config
    activity = build_incoming_activity(
        kind="invoke", activity_id=emulator.new_activity_id(), user_id=press["user_id"],
        user_name=emulator.user_name(press["user_id"]),
        conversation_id=emulator.personal_conversation(press["user_id"])["id"],
        tenant_id=config.tenant_id, bot_app_id=config.bot_app_id, bot_name=config.bot_name,
        service_url=emulator.service_url, reply_to_id=press["activity_id"],
        value={"action": {"type": "Action.Execute", "verb": press["verb"], "data": press["data"]}})
    body = json.dumps(activity).encode()
    headers = {"Authorization": f"Bearer {emulator.signed_activity_token()}",
               "Content-Type": "application/json"}
    result = {"commitment_id": press["commitment_id"], "verb": press["verb"],
              "sent_at": time.time()}
    started = time.perf_counter()
    try:
        async with http.post(config.bot_endpoint, data=body, headers=headers) as response:
            status = response.status
            raw = await response.read()
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        result.update(ms=(time.perf_counter() - started) * 1000, status=0,
                      error=f"{type(error).__name__}: {error}")
        return result
    result["ms"] = (time.perf_counter() - started) * 1000
    result["status"] = status
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = None
    if status != 200:
        result["error"] = f"HTTP {status}: {raw[:200]!r}"
    elif not isinstance(answer, dict) or answer.get("statusCode") != 200 \
            or answer.get("type") != ADAPTIVE_CARD or not isinstance(answer.get("value"), dict):
        result["error"] = f"not the card: {str(answer)[:300]}"
    else:
        emulator.apply_card_from_invoke(press["user_id"], press["activity_id"], answer["value"])
    return result


async def watch_board(http: aiohttp.ClientSession, base: str, person_id: str, incident_id: int,
                      stop: asyncio.Event) -> dict:
    """Sign in (demo) and hold the live board open until ``stop``; count what arrives."""
    seen = {"incident_id": incident_id, "events": 0, "pings": 0, "error": None}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as own:
        try:
            async with own.get(f"{base}/log-ind") as response:  # the form's CSRF token
                token = (await response.text()).split('name="csrf" value="')[1].split('"')[0]
            async with own.post(f"{base}/log-ind", data={"person": person_id, "csrf": token},
                                allow_redirects=False) as response:
                if response.status != 303:
                    raise RuntimeError(f"sign-in: {response.status}")
            async with own.get(f"{base}/haendelser/{incident_id}/opgaver/stroem",
                               timeout=aiohttp.ClientTimeout(total=None)) as response:
                if response.status != 200:
                    raise RuntimeError(f"stream: {response.status}")
                reading = asyncio.ensure_future(_read_events(response, seen))
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                for task in (reading, stopping):
                    task.cancel()
        except Exception as error:  # noqa: BLE001 - reported in the summary
            seen["error"] = f"{type(error).__name__}: {error}"
    return seen


async def _read_events(response, seen: dict) -> None:
    async for line in response.content:
        if line.startswith(b"event: tavle"):
            seen["events"] += 1
        elif line.startswith(b": ping"):
            seen["pings"] += 1


def recorded_presses(engine, commitment_ids: list[int]) -> Counter:
    """How often each commitment's press is in the record."""
    from handleplaner.record.models import RecordEntry

    wanted = set(commitment_ids)
    counts: Counter = Counter()
    with Session(engine) as session:
        for entry in session.exec(select(RecordEntry).where(
                RecordEntry.action.in_(["opgave.bekraeftet", "opgave.afvist"]))):
            commitment_id = json.loads(entry.data).get("commitment_id")
            if commitment_id in wanted:
                counts[commitment_id] += 1
    return counts


def fanout_facts(engine, alert_id: int) -> dict:
    from notifications.models import Delivery

    with Session(engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.alert_id == alert_id)))
    sent = [d.sent_at for d in rows if d.sent_at]
    return {"deliveries": len(rows), "recipients": len({d.person_id for d in rows}),
            "states": dict(Counter(d.state for d in rows)),
            "last_sent": max(sent) if sent else None}


def _epoch(moment: datetime) -> float:
    from datetime import timezone

    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def start_py_spy(target: str, pid: int, seconds: float) -> subprocess.Popen:
    """Sample the service with py-spy (``pip install py-spy``; not a dependency) for the measured
    window: collapsed stacks per thread (speedscope's format if ``target`` ends in .json), GIL
    holders only."""
    py_spy = Path(sys.executable).with_name("py-spy")
    form = "speedscope" if target.endswith(".json") else "raw"
    return subprocess.Popen([str(py_spy if py_spy.exists() else "py-spy"), "record", "-p", str(pid),
                             "-d", str(int(seconds)), "-r", "200", "--format", form, "--threads",
                             "--gil", "-o", target], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def run(args) -> dict:
    from handleplaner.directory import queries as directory
    from handleplaner.storage import make_engine
    from m365emulator import EmulatorConfig, start_emulator
    from notifications.models import QUEUED

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("graph-requests.jsonl", "bot-requests.jsonl", "load-summary.json"):
        (out / stale).unlink(missing_ok=True)
    database_name = None
    if args.postgres:
        database_name, database_url = create_postgres_database(args.postgres)
    else:
        database_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='beredskab-load-')) / 'load.db'}"

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emulator, emulator_runner = await start_emulator(EmulatorConfig(
        bot_endpoint=f"{base}/api/messages", record_dir=out, seed=args.seed,
        latency_ms=tuple(args.latency_ms)), port=0)
    log = open(out / "service.log", "w", encoding="utf-8")
    service = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--as-service", "--port", str(port),
         "--emulator-url", emulator.base_url],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        env={**os.environ, "BEREDSKAB_DATABASE_URL": database_url, "BEREDSKAB_PUBLIC_URL": base})
    engine = None
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))
    try:
        deadline = time.monotonic() + 120
        while True:
            if service.poll() is not None:
                raise SystemExit(f"the service stopped (see {out / 'service.log'})")
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the service did not start within 120 s")
            await asyncio.sleep(0.2)
        engine = make_engine(database_url)
        from bot.serve import emulator_people

        emulator.config.people = emulator_people(engine)
        with Session(engine) as session:
            secretariat = [p.id for p in directory.secretariat_members(session)]
            authorities = sorted({p.authority_code for p in directory.list_people(session)})
        api = Api(http, base, secretariat[0])

        # Setup ---------------------------------------------------------------------------
        started_setup = time.monotonic()
        plans = await set_up_plans(api, engine, incidents=args.incidents, leaders=args.presses)
        city = await api.call("POST", "/api/incidents", _incident_data(
            "Skud affyret flere steder i byen (belastningstest)", [], whole_city=True))
        await drain(engine, args.timeout)
        presses = plan_presses(emulator, engine, plans, args.presses)
        setup_s = time.monotonic() - started_setup
        await asyncio.sleep(2.0)  # let the connector's limit windows clear

        # The measured minute ----------------------------------------------------------------
        stop = asyncio.Event()
        watchers = [asyncio.ensure_future(watch_board(
            http, base, secretariat[i % len(secretariat)],
            plans[i % len(plans)]["incident_id"], stop)) for i in range(args.streams)]
        await asyncio.sleep(0.5)
        rng = random.Random(args.seed)
        offsets = sorted(rng.uniform(0, args.seconds) for _ in presses)
        profiler = start_py_spy(args.py_spy, service.pid, float(os.environ.get("BENCH_PY_SPY_SECONDS", args.seconds + 5))) if args.py_spy else None
        t0 = time.time()
        alert = await api.call("POST", f"/api/incidents/{city['id']}/alerts", {
            "kind": "besked", "severity": "akut",
            "text": "Alle SSP-medarbejdere: hold jer orienteret; undgå de berørte områder.",
            "audience": {"authorities": authorities}})
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def timed(offset: float, press: dict) -> dict:
            await asyncio.sleep(max(0.0, start + offset - loop.time()))
            return await press_once(http, emulator, press)

        results = await asyncio.gather(*(timed(o, p) for o, p in zip(offsets, presses)))
        stop.set()
        if profiler is not None:
            await asyncio.to_thread(profiler.wait)
        streams = await asyncio.gather(*watchers)
        fanout_deadline = time.monotonic() + args.timeout
        while fanout_facts(engine, alert["id"])["states"].get(QUEUED) and \
                time.monotonic() < fanout_deadline:
            await asyncio.sleep(0.5)
        fanout = fanout_facts(engine, alert["id"])
        recorded = recorded_presses(engine, [p["commitment_id"] for p in presses])
    finally:
        await http.close()
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        log.close()
        await emulator_runner.cleanup()
        if engine is not None:
            engine.dispose()
        if database_name:
            drop_postgres_database(args.postgres, database_name)

    lag = loop_lag(out / "service.log", t0, t0 + args.seconds + 1)
    latencies = [r["ms"] for r in results]
    errors = [r for r in results if r.get("error")]
    fanout_end = _epoch(fanout["last_sent"]) if fanout["last_sent"] else t0
    during = [r["ms"] for r in results if r["sent_at"] <= fanout_end]
    not_once = {c: recorded.get(c, 0) for c in (p["commitment_id"] for p in presses)
                if recorded.get(c, 0) != 1}
    summary = {
        "database": "postgresql" if database_name else "sqlite",
        "presses": len(results), "errors": len(errors), "error_samples": errors[:10],
        "p50_ms": percentile(latencies, 0.50), "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99), "max_ms": max(latencies) if latencies else None,
        "during_fanout": {"presses": len(during), "p50_ms": percentile(during, 0.5),
                          "p99_ms": percentile(during, 0.99)},
        "fanout": {**fanout, "alert_id": alert["id"],
                   "last_s": fanout_end - t0, "last_sent": str(fanout["last_sent"])},
        "streams": streams, "recorded_not_once": not_once, "service_loop_lag": lag,
        "incidents": len(plans), "leaders": len(presses), "setup_s": setup_s,
        "seconds": args.seconds, "seed": args.seed, "latency_ms": list(args.latency_ms),
        "results": results,
    }
    (out / "load-summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2,
                                                      default=str), encoding="utf-8")
    return summary


def report(s: dict) -> list[str]:
    f, d = s["fanout"], s["during_fanout"]
    lines = [
        f"database={s['database']} incidents={s['incidents']} leaders={s['leaders']} "
        f"setup_s={s['setup_s']:.1f} emulator latency_ms={s['latency_ms'][0]}-{s['latency_ms'][1]}",
        f"fan-out: alert {f['alert_id']} to {f['recipients']} people, {f['deliveries']} deliveries "
        f"({', '.join(f'{k} {v}' for k, v in sorted(f['states'].items()))}), last sent "
        f"{f['last_s']:.1f} s after t=0",
        f"presses over {s['seconds']} s: p50 {s['p50_ms']:.1f} ms, p90 {s['p90_ms']:.1f} ms, "
        f"p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms; while the fan-out ran: "
        f"{d['presses']} presses, p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
        f"service event loop: worst lag {s['service_loop_lag']['max_ms']:.0f} ms "
        f"(at {s['service_loop_lag']['at_s']} s), "
        f"{s['service_loop_lag']['seconds_over_50ms']} seconds with a lag over 50 ms",
        "board streams: " + ", ".join(
            f"{w['incident_id']}: {w['events']} updates/{w['pings']} pings"
            + (f" ERROR {w['error']}" if w["error"] else "") for w in s["streams"]),
    ]
    if s["recorded_not_once"]:
        lines.append(f"RECORD: presses not recorded exactly once: {s['recorded_not_once']}")
    for e in s["error_samples"]:
        lines.append(f"ERROR commitment {e['commitment_id']} ({e['verb']}): {e['error']}")
    lines.append(f"load presses={s['presses']} errors={s['errors'] + len(s['recorded_not_once'])} "
                 f"p50_ms={s['p50_ms']:.1f} p99_ms={s['p99_ms']:.1f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench-out/load",
                        help="where the records and the summary go (default bench-out/load)")
    parser.add_argument("--postgres", metavar="URL",
                        help="run on PostgreSQL: a new database on this server, dropped after")
    parser.add_argument("--presses", type=int, default=200, help="leaders pressing (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="the window the presses arrive in (default 60)")
    parser.add_argument("--incidents", type=int, default=10,
                        help="incidents with a sent plan the leaders' commitments are in")
    parser.add_argument("--streams", type=int, default=6, help="live boards held open")
    parser.add_argument("--latency-ms", nargs=2, type=int, default=(50, 150),
                        metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds the setup's and the fan-out's deliveries may take")
    parser.add_argument("--py-spy", metavar="FILE",
                        help="profile the service during the measured window with py-spy "
                             "(installed separately) into FILE (collapsed stacks)")
    parser.add_argument("--as-service", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--emulator-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.as_service:
        return serve_service(args)
    import logging

    logging.getLogger("microsoft_agents").setLevel(logging.CRITICAL)
    summary = asyncio.run(run(args))
    for line in report(summary):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
