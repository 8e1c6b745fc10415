"""Crash benchmark: two replicas on PostgreSQL, one killed (SIGKILL) in the middle of a
400-recipient fan-out and started again; then count what Microsoft (the emulator) received.

    .venv/bin/python bench/crash.py [--out DIR] [--postgres URL] [--restart-postgres]
                                    [--kill-at F] [--lease S] [--latency-ms MIN MAX]
                                    [--seed N] [--timeout S]

What it does, all as separate processes on loopback:

1. PostgreSQL: without ``--postgres`` a private server the bench starts itself (``initdb`` and
   ``pg_ctl`` in a temporary directory, on a free port; run as the ``postgres`` user when the
   bench runs as root); with ``--postgres URL`` the server at URL, in which the bench drops and
   creates its own database ``beredskab_crash``.
2. Two replicas: ``beredskab serve --port P --emulator-url E`` with ``BEREDSKAB_DEMO=1``, one
   ``BEREDSKAB_DATABASE_URL`` and one ``BEREDSKAB_SESSION_SECRET``, started at the same moment
   (the schema upgrade and the demo organisation's import take turns under an advisory lock),
   and a delivery lease of ``--lease`` seconds (default 15) so the bench does not wait the
   production two minutes for a dead replica's rows.
3. The emulator: ``python -m m365emulator`` with latency (default 50–150 ms), Microsoft's limits
   and its records in DIR (``bot-requests.jsonl``, ``graph-requests.jsonl``), the demo
   organisation's people, the bot endpoint on the first replica.
4. Through the API of the first replica, as a secretariat member (``X-Demo-Person``): an Akut
   incident for the whole city, then an alert to everyone (every authority: about 408 people,
   about 345 of them on Teams too), its text carrying a unique marker.
5. When a third of the alert's Teams deliveries are written as sent, the replica that holds the
   claim on the rest (``claimed_by`` names the process) is killed with SIGKILL, and started
   again at once. With ``--restart-postgres`` (private server only) PostgreSQL is restarted
   (``pg_ctl restart -m fast``) when two thirds are sent.
6. When nothing of the incident is queued any more, the emulator's records are read: every
   successful (2xx) Teams activity post and Graph ``sendMail`` carrying the marker is a copy
   delivered to its recipient(s). Per (person, channel) the alert was accepted for: ``lost`` =
   never delivered, ``duplicated`` = delivered more than once.

The last line is the result:

    crash recipients=N lost=L duplicated=D

Targets: L = 0, D = 0. A call Microsoft had accepted is written down at once (a receipt), and a
row with a receipt is never sent again. The Bot Connector and Graph ``sendMail`` take no
idempotency key, so a call Microsoft received in the instant the replica died (in flight, or
answered and its receipt not yet committed) is read back (the person's chat, the Sent Items)
before it is made again. A duplicate that still happens is reported with how long before the
kill its first copy's call ended (negative: after it). See docs/architecture.md, "Several
replicas".
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, func, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bot.serve import emulator_people  # noqa: E402
from handleplaner.directory import queries as directory  # noqa: E402
from handleplaner.storage import make_engine, normalise_url  # noqa: E402
from notifications.models import QUEUED, SENT, Alert, ChannelPost, Delivery  # noqa: E402

DATABASE = "beredskab_crash"
ACTIVITY_POST = re.compile(r"^/connector/v3/conversations/[^/]+/activities$")
DEMO = "X-Demo-Person"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def say(message: str) -> None:
    print(message, flush=True)


# PostgreSQL ------------------------------------------------------------------------------------
class PrivatePostgres:
    """A PostgreSQL server of the bench's own, in a temporary directory (so it may restart it)."""

    def __init__(self, workdir: Path):
        self.bin = self._bin_dir()
        self.data = workdir / "pgdata"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0  # initdb and pg_ctl refuse to run as root
        workdir.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(workdir, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        self.log = workdir / "postgres.log"

    @staticmethod
    def _bin_dir() -> Path:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        found = shutil.which("initdb")
        if candidates:
            return candidates[-1].parent
        if found:
            return Path(found).parent
        raise SystemExit("initdb was not found: install PostgreSQL or give --postgres URL")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", *args)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                        "-c max_connections=200 -c fsync=off", "start")

    def restart(self) -> None:
        self._ctl("-m", "fast", "restart")

    def stop(self) -> None:
        try:
            self._ctl("-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def fresh_database(server_url: str) -> str:
    """Drop and create the bench's database on the server; its URL."""
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        admin.dispose()
    return make_url(normalise_url(server_url)).set(database=DATABASE).render_as_string(
        hide_password=False)


# Processes -------------------------------------------------------------------------------------
class Process:
    def __init__(self, name: str, command: list[str], log: Path, env: dict | None = None):
        self.name, self.command, self.log, self.env = name, command, log, env
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        handle = self.log.open("a", encoding="utf-8")
        handle.write(f"--- start {self.starts} at {time.time():.3f}\n")
        handle.flush()
        self.popen = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=handle,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout: float = 30.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def check(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise SystemExit(f"{self.name} stopped (exit {self.popen.returncode}):\n{tail}")


def wait_until(what: str, condition, timeout: float, *processes: Process) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for process in processes:
            process.check()
        try:
            if condition():
                return
        except (httpx.HTTPError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    return httpx.get(url, timeout=2.0).status_code == 200


# The fan-out -----------------------------------------------------------------------------------
def whole_city_incident(base: str, actor: str) -> int:
    from handleplaner.clock import local, utcnow
    from datetime import timedelta

    occurred = local(utcnow() - timedelta(minutes=10)).replace(tzinfo=None)
    response = httpx.post(f"{base}/api/incidents", headers={DEMO: actor}, timeout=60, json={
        "incident_type": "skyderi", "title": "Skud affyret flere steder i byen (nedbrudstest)",
        "description": "Benchmark: en replika dræbes midt i udsendelsen.", "severity": "akut",
        "occurred_at": occurred.isoformat(timespec="minutes"), "areas": [], "whole_city": True,
        "exercise": False, "confidential": False})
    if response.status_code != 201:
        raise SystemExit(f"activation refused: {response.status_code} {response.text}")
    return response.json()["id"]


def alert_everyone(base: str, actor: str, incident_id: int, authorities: list[str],
                   marker: str) -> None:
    response = httpx.post(f"{base}/api/incidents/{incident_id}/alerts", headers={DEMO: actor},
                          timeout=60, json={
                              "kind": "besked", "severity": "akut",
                              "text": f"Alle SSP-parter varsles ({marker}).",
                              "audience": {"authorities": authorities}})
    if response.status_code != 201:
        raise SystemExit(f"alert refused: {response.status_code} {response.text}")


def holder_pid(claimed_by: str) -> int | None:
    """``worker-<host>-<pid>-<hex>:<claim>`` (notifications.lease.holder_name)."""
    match = re.match(r"^[a-z]+-.*-(\d+)-[0-9a-f]+:", claimed_by or "")
    return int(match.group(1)) if match else None


def progress(engine, alert_id: int) -> dict:
    with Session(engine) as session:
        rows = session.exec(select(Delivery.channel, Delivery.state, func.count())
                            .where(Delivery.alert_id == alert_id)
                            .group_by(Delivery.channel, Delivery.state)).all()
        holders = session.exec(select(Delivery.claimed_by, func.count())
                               .where(Delivery.alert_id == alert_id, Delivery.state == QUEUED,
                                      Delivery.claimed_by.is_not(None))
                               .group_by(Delivery.claimed_by)).all()
    counts = Counter()
    for channel, state, n in rows:
        counts[(channel, state)] += n
        counts[(channel, "alle")] += n
    return {"counts": counts, "holders": {h: n for h, n in holders}}


def nothing_queued(engine, incident_id: int) -> bool:
    with Session(engine) as session:
        deliveries = session.exec(select(func.count()).select_from(Delivery).where(
            Delivery.incident_id == incident_id, Delivery.state == QUEUED)).one()
        posts = session.exec(select(func.count()).select_from(ChannelPost).where(
            ChannelPost.incident_id == incident_id, ChannelPost.state == QUEUED)).one()
    return deliveries == 0 and posts == 0


# Counting --------------------------------------------------------------------------------------
def _field(data: dict, name: str):
    """Graph matches property names without regard to case (the SDK sends ``Message``)."""
    for key, value in (data or {}).items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def read_records(out: Path) -> list[dict]:
    records = []
    for name in ("bot-requests.jsonl", "graph-requests.jsonl"):
        path = out / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    records.append(json.loads(line))
    return records


def copies_delivered(records: list[dict], marker: str, people: list[dict],
                     sender: str) -> tuple[Counter, dict]:
    """(person id, channel) -> copies the emulator accepted; and when each copy's call ended."""
    by_user = {p["teams_user_id"]: p["id"] for p in people if p.get("teams_user_id")}
    by_email = {p["email"].lower(): p["id"] for p in people if p.get("email")}
    copies: Counter = Counter()
    ended: dict[tuple[str, str], list[float]] = {}
    for r in records:
        status = r.get("status")
        if not (isinstance(status, int) and 200 <= status < 300):
            continue
        if marker not in json.dumps(r.get("body"), ensure_ascii=False):
            continue
        if r.get("api") == "bot" and r.get("method") == "POST" and ACTIVITY_POST.match(r["path"]):
            keys = [(by_user.get(r.get("user_id"), f"?{r.get('user_id')}"), "teams")]
        elif r.get("api") == "graph" and r["path"].endswith("/sendMail"):
            message = _field(r.get("body"), "message") or {}
            addresses = [(_field(_field(x, "emailAddress") or {}, "address") or "").lower()
                         for kind in ("toRecipients", "ccRecipients", "bccRecipients")
                         for x in (_field(message, kind) or [])]
            keys = [(by_email.get(a, f"?{a}"), "email") for a in addresses if a != sender]
        else:
            continue
        for key in keys:
            copies[key] += 1
            ended.setdefault(key, []).append(r.get("ts_end") or r.get("ts_start"))
    return copies, ended


# Running ---------------------------------------------------------------------------------------
def run(args) -> dict:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("bot-requests.jsonl", "graph-requests.jsonl", "crash-summary.json"):
        (out / stale).unlink(missing_ok=True)
    logs = out / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    workdir = Path(tempfile.mkdtemp(prefix="beredskab-crash-"))
    workdir.chmod(0o755)  # the private server runs as the postgres user
    server = None
    if args.postgres:
        if args.restart_postgres:
            raise SystemExit("--restart-postgres needs the bench's own server "
                             "(leave out --postgres)")
        server_url = args.postgres
    else:
        server = PrivatePostgres(workdir / "pg")
        server.start()
        server_url = server.url
    database_url = fresh_database(server_url)
    emulator_port, ports = free_port(), [free_port(), free_port()]
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = dict(os.environ, BEREDSKAB_DEMO="1", BEREDSKAB_DATABASE_URL=database_url,
               BEREDSKAB_SESSION_SECRET=secrets.token_urlsafe(32),
               BEREDSKAB_WORKER_POLL_SECONDS="0.2",
               BEREDSKAB_DELIVERY_LEASE_SECONDS=str(args.lease), PYTHONUNBUFFERED="1")
    env.pop("BEREDSKAB_PUBLIC_URL", None)
    serve = ([str(Path(sys.executable).parent / "beredskab")]
             if (Path(sys.executable).parent / "beredskab").exists()
             else [sys.executable, "-m", "bot.cli"])
    replicas = [Process(f"replika-{i + 1}", [*serve, "serve", "--host", "127.0.0.1",
                                              "--port", str(port), "--emulator-url", emulator_url],
                        logs / f"replika-{i + 1}.log", env) for i, port in enumerate(ports)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    emulator = None
    engine = None
    try:
        started = time.monotonic()
        for replica in replicas:  # at the same moment: the start-up lock decides who migrates
            replica.start()
        for replica, base in zip(replicas, bases):
            wait_until(f"{replica.name} to answer", lambda b=base: answers(f"{b}/healthz"), 180,
                       *replicas)
        say(f"two replicas up in {time.monotonic() - started:.1f} s (schema and demo "
            f"organisation loaded once, under the start-up lock)")
        engine = make_engine(database_url)
        with Session(engine) as session:
            people = [{"id": p.id, "name": p.name, "email": p.email,
                       "teams_user_id": p.teams_user_id} for p in directory.list_people(session)]
            actor = directory.secretariat_members(session)[0].id
            authorities = [a.code for a in directory.authorities(session)]
        (workdir / "people.json").write_text(json.dumps(emulator_people(engine)), encoding="utf-8")
        emulator = Process("emulator", [
            sys.executable, "-m", "m365emulator", "--port", str(emulator_port),
            "--bot-endpoint", f"{bases[0]}/api/messages", "--record-dir", str(out),
            "--latency-ms", str(args.latency_ms[0]), str(args.latency_ms[1]),
            "--people", str(workdir / "people.json"), "--seed", str(args.seed)],
            logs / "emulator.log", dict(os.environ, PYTHONUNBUFFERED="1"))
        emulator.start()
        wait_until("the emulator", lambda: answers(f"{emulator_url}/_emulator/config"), 30,
                   emulator)

        marker = f"nedbrud-{uuid.uuid4().hex[:10]}"
        incident_id = whole_city_incident(bases[0], actor)
        accepted_at = time.time()
        alert_everyone(bases[0], actor, incident_id, authorities, marker)
        with Session(engine) as session:
            alert = session.exec(select(Alert).where(Alert.incident_id == incident_id,
                                                     Alert.kind == "besked")).one()
            expected = {(d.person_id, d.channel) for d in session.exec(
                select(Delivery).where(Delivery.alert_id == alert.id))}
        say(f"alert {alert.id} accepted for {len({p for p, _ in expected})} people: "
            + ", ".join(f"{c} {n}" for c, n in sorted(Counter(c for _, c in expected).items())))

        # Kill the replica that holds the rest of the fan-out when a third is sent.
        events: dict = {"killed": None, "postgres_restarted": None}
        teams_total = sum(1 for _, c in expected if c == "teams")
        deadline = time.monotonic() + args.timeout
        victim = None
        while time.monotonic() < deadline:
            state = progress(engine, alert.id)
            sent = state["counts"][("teams", SENT)]
            if sent >= args.kill_at * teams_total and state["holders"]:
                holder = max(state["holders"], key=state["holders"].get)
                pid = holder_pid(holder)
                victim = next((r for r in replicas if r.pid == pid), None)
                if victim is not None:
                    victim.kill()
                    events["killed"] = {
                        "replica": victim.name, "at": time.time(),
                        "at_s": time.time() - accepted_at, "teams_sent": sent,
                        "teams_total": teams_total, "held_by_it": state["holders"][holder],
                        "email_sent": state["counts"][("email", SENT)]}
                    break
            for replica in replicas:
                replica.check()
            time.sleep(0.02)
        if victim is None:
            raise SystemExit("the fan-out ended (or timed out) before a replica could be killed")
        say(f"killed {victim.name} (SIGKILL) {events['killed']['at_s']:.1f} s after acceptance: "
            f"{events['killed']['teams_sent']}/{teams_total} Teams deliveries written as sent, "
            f"{events['killed']['held_by_it']} rows under its lease")
        victim.start()
        wait_until(f"{victim.name} to answer again",
                   lambda: answers(f"{bases[replicas.index(victim)]}/healthz"), 120, *replicas)
        say(f"{victim.name} started again")

        while not nothing_queued(engine, incident_id):
            if time.monotonic() > deadline:
                raise SystemExit("deliveries still queued after the timeout")
            if (args.restart_postgres and events["postgres_restarted"] is None
                    and progress(engine, alert.id)["counts"][("teams", SENT)]
                    >= (2 / 3) * teams_total):
                server.restart()
                events["postgres_restarted"] = {"at_s": time.time() - accepted_at}
                say(f"PostgreSQL restarted {events['postgres_restarted']['at_s']:.1f} s after "
                    "acceptance")
                engine.dispose()
            for replica in replicas:
                replica.check()
            time.sleep(0.25)
        finished = time.time()
        if args.restart_postgres and events["postgres_restarted"] is None:
            say("the fan-out ended before PostgreSQL could be restarted")
        time.sleep(0.5)  # the emulator's last records

        with Session(engine) as session:
            states = Counter((d.channel, d.state) for d in session.exec(
                select(Delivery).where(Delivery.alert_id == alert.id)))
        copies, ended = copies_delivered(read_records(out), marker, people,
                                         sender="ssp-beredskab@kk.example")
        lost = sorted(k for k in expected if copies[k] == 0)
        duplicated = sorted(k for k in expected if copies[k] > 1)
        stray = sorted(k for k in copies if k not in expected)
        kill_at = events["killed"]["at"]
        return {
            "recipients": len({p for p, _ in expected}),
            "deliveries": len(expected),
            "channels": dict(Counter(c for _, c in expected)),
            "lost": len(lost), "lost_pairs": lost[:50],
            "duplicated": len(duplicated), "duplicated_pairs": duplicated[:50],
            # A duplicate's first copy: how long before the kill its call ended (negative: after).
            "duplicates_first_copy_before_kill_s": [
                round(kill_at - min(ended[k]), 3) for k in duplicated],
            "stray": stray[:50],
            "states": {f"{c}:{s}": n for (c, s), n in sorted(states.items())},
            "killed": events["killed"], "postgres_restarted": events["postgres_restarted"],
            "run_s": finished - accepted_at, "lease_s": args.lease,
            "database": "private PostgreSQL" if server else "PostgreSQL at --postgres",
            "latency_ms": list(args.latency_ms), "alert_id": alert.id, "marker": marker,
        }
    finally:
        for replica in replicas:
            replica.stop()
        if emulator is not None:
            emulator.stop()
        if engine is not None:
            engine.dispose()
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(r: dict) -> list[str]:
    k = r["killed"]
    lines = [
        f"{r['database']}; emulator latency {r['latency_ms'][0]}-{r['latency_ms'][1]} ms; "
        f"lease {r['lease_s']:g} s",
        f"alert {r['alert_id']}: {r['recipients']} recipients, {r['deliveries']} deliveries ("
        + ", ".join(f"{c} {n}" for c, n in sorted(r["channels"].items())) + ")",
        f"killed {k['replica']} at {k['at_s']:.1f} s with {k['teams_sent']}/{k['teams_total']} "
        f"Teams deliveries written as sent and {k['held_by_it']} rows under its lease",
    ]
    if r["postgres_restarted"]:
        lines.append(f"PostgreSQL restarted at {r['postgres_restarted']['at_s']:.1f} s")
    lines.append(f"all settled {r['run_s']:.1f} s after acceptance; states: "
                 + ", ".join(f"{s} {n}" for s, n in r["states"].items()))
    if r["lost"]:
        lines.append(f"LOST: {r['lost_pairs'][:5]}")
    if r["duplicated"]:
        lines.append(f"DUPLICATED: {r['duplicated_pairs'][:5]}; their first calls ended "
                     f"{r['duplicates_first_copy_before_kill_s'][:10]} s before the kill "
                     "(negative: after it): received by Microsoft as the replica died, in "
                     "flight or answered before the receipt was written")
    if r["stray"]:
        lines.append(f"copies for unexpected (person, channel): {r['stray'][:5]}")
    lines.append(f"crash recipients={r['recipients']} lost={r['lost']} "
                 f"duplicated={r['duplicated']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bench-out/crash",
                        help="where the emulator's records and the processes' logs go")
    parser.add_argument("--postgres", metavar="URL",
                        help="a PostgreSQL server to use (its database beredskab_crash is "
                             "dropped and created); default: a private server the bench starts")
    parser.add_argument("--restart-postgres", action="store_true",
                        help="also restart the (private) PostgreSQL when two thirds are sent")
    parser.add_argument("--kill-at", type=float, default=1 / 3,
                        help="share of the Teams deliveries sent when a replica is killed")
    parser.add_argument("--lease", type=float, default=15.0,
                        help="the replicas' delivery lease in seconds (production: 120)")
    parser.add_argument("--latency-ms", nargs=2, type=int, default=(50, 150),
                        metavar=("MIN", "MAX"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    result = run(args)
    (Path(args.out) / "crash-summary.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    for line in report(result):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
