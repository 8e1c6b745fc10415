"""Operations: the liveness and readiness probes, the Prometheus metrics (and who may scrape
them), and the structured log lines with the ids of what they are about."""
from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlmodel import Session, select

from bot import logs
from bot.app import create_app
from bot.health import newest_migration
from bot.metrics import Metrics, may_scrape
from bot.services import demo_settings
from handleplaner.clock import utcnow
from handleplaner.directory import queries as directory
from notifications.models import Alert, Delivery
from tests.conftest import free_port

from .helpers import DEMO, noerrebro, secretariat_member, shooting


async def activated(service) -> tuple[str, int]:
    person = secretariat_member(service.engine)
    response = await service.client.post("/api/incidents", headers={DEMO: person.id},
                                         json=shooting(noerrebro(service.engine)))
    assert response.status == 201, await response.text()
    return person.id, (await response.json())["id"]


def samples(body: str) -> dict[tuple, float]:
    """(metric sample name, sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(service, **headers) -> dict[tuple, float]:
    response = await service.client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(await response.text())


@pytest.fixture
async def with_worker(emulator, demo_database):
    """The service as `beredskab serve` builds it: its own worker and scheduler running."""
    url, _ = demo_database
    port = free_port()
    settings = demo_settings(emulator.base_url, public_url=f"http://127.0.0.1:{port}",
                             database_url=url, worker_poll_seconds=0.05)
    client = TestClient(TestServer(create_app(settings), host="127.0.0.1", port=port))
    await client.start_server()
    yield client
    await client.close()


# Probes ------------------------------------------------------------------------------------------
async def test_ready_when_the_database_is_current_and_the_worker_runs(with_worker):
    assert (await with_worker.get("/healthz")).status == 200
    response = await with_worker.get("/readyz")
    assert response.status == 200, await response.text()
    assert await response.json() == {"status": "klar"}


async def test_not_ready_without_the_worker_or_on_an_old_schema(service):
    response = await service.client.get("/readyz")  # the fixture starts no worker
    assert response.status == 503
    body = await response.json()
    assert set(body["problemer"]) == {"worker"}
    assert "Leveringsarbejderen kører ikke" in body["fejl"]

    with service.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        body = await (await service.client.get("/readyz")).json()
        assert set(body["problemer"]) == {"worker", "migration"}
        assert "beredskab db upgrade" in body["problemer"]["migration"]
    finally:
        with service.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"),
                               {"head": newest_migration()})
    assert (await service.client.get("/healthz")).status == 200  # alive all along


async def test_not_ready_when_the_database_does_not_answer(service):
    original = service.services.engine

    class Broken:
        def connect(self):
            raise ConnectionRefusedError("database down")

    service.services.engine = Broken()
    try:
        response = await service.client.get("/readyz")
    finally:
        service.services.engine = original
    assert response.status == 503
    assert "Databasen kan ikke læses" in (await response.json())["problemer"]["database"]


# Metrics -----------------------------------------------------------------------------------------
async def test_deliveries_queue_and_requests_are_measured(service):
    person_id, incident_id = await activated(service)
    with Session(service.engine) as session:
        queued = list(session.exec(select(Delivery).where(Delivery.incident_id == incident_id)))
    by_channel = {c: sum(1 for d in queued if d.channel == c) for c in {d.channel for d in queued}}
    await service.client.get(f"/haendelser/{incident_id}", headers={DEMO: person_id})
    await service.client.get("/findes/ikke/her")

    found = await scrape(service)
    for channel, count in by_channel.items():
        assert found[("beredskab_deliveries", (("channel", channel), ("state", "i_koe")))] == count
        assert found[("beredskab_outbox_queued", (("channel", channel),))] == count
        assert found[("beredskab_outbox_oldest_queued_seconds", (("channel", channel),))] >= 0
    assert found[("beredskab_database_up", ())] == 1
    latency = "beredskab_http_request_duration_seconds_count"
    assert found[(latency, (("method", "POST"), ("route", "/api/incidents"),
                            ("status", "2xx")))] == 1
    assert found[(latency, (("method", "GET"), ("route", "/haendelser/{incident_id}"),
                            ("status", "2xx")))] == 1
    assert found[(latency, (("method", "GET"), ("route", "(ingen rute)"), ("status", "4xx")))] == 1
    routes = {dict(labels).get("route") for name, labels in found if name == latency}
    assert not any(str(incident_id) in route for route in routes)  # patterns, never raw paths

    await service.services.worker.run_until_idle(timeout=120)
    found = await scrape(service)
    assert not any(name == "beredskab_outbox_queued" for name, _ in found)
    assert sum(v for (name, labels), v in found.items() if name == "beredskab_deliveries"
               and dict(labels)["state"] == "sendt") == len(queued)


async def test_card_presses_are_counted_by_verb_and_result(service):
    _, incident_id = await activated(service)
    with Session(service.engine) as session:
        alert = session.exec(select(Alert).where(Alert.incident_id == incident_id)).one()
        row = session.exec(select(Delivery).where(Delivery.alert_id == alert.id,
                                                  Delivery.channel == "teams")).first()
        user = directory.get_person(session, row.person_id).teams_user_id

    async def press(verb, data):
        status, answer = await service.emulator.send_to_bot(user, invoke_value={
            "action": {"type": "Action.Execute", "verb": verb, "data": data}})
        assert status == 200
        return answer["statusCode"]

    assert await press("kvitter", {"alert_id": alert.id}) == 200
    assert await press("kvitter", {"alert_id": 999999}) == 404
    assert await press("noget-helt-andet", {}) == 400
    found = await scrape(service)
    name = "beredskab_card_presses_total"
    assert found[(name, (("result", "ok"), ("verb", "kvitter")))] == 1
    assert found[(name, (("result", "404"), ("verb", "kvitter")))] == 1
    assert found[(name, (("result", "400"), ("verb", "ukendt")))] == 1


async def test_scheduled_job_lag_and_outcomes(engine):
    metrics = Metrics(engine)
    scheduler = AsyncIOScheduler(timezone="UTC")
    metrics.watch_scheduler(scheduler)
    ran = asyncio.Event()

    async def job():
        ran.set()

    async def failing():
        raise RuntimeError("fejl i jobbet")

    now = utcnow()
    scheduler.add_job(job, "date", run_date=now - timedelta(seconds=2), id="forsinket",
                      misfire_grace_time=30)
    scheduler.add_job(failing, "date", run_date=now, id="fejler", misfire_grace_time=30)
    scheduler.add_job(job, "date", run_date=now - timedelta(minutes=5), id="for-sent",
                      misfire_grace_time=1)
    scheduler.start()
    try:
        await asyncio.wait_for(ran.wait(), 5)
        for _ in range(100):
            if metrics.registry.get_sample_value("beredskab_scheduled_job_runs_total",
                                                 {"job": "fejler", "outcome": "fejl"}):
                break
            await asyncio.sleep(0.02)
    finally:
        scheduler.shutdown(wait=False)
    value = metrics.registry.get_sample_value
    assert value("beredskab_scheduled_job_lag_seconds_count", {"job": "forsinket"}) == 1
    assert value("beredskab_scheduled_job_lag_seconds_sum", {"job": "forsinket"}) >= 2
    assert value("beredskab_scheduled_job_runs_total", {"job": "forsinket",
                                                        "outcome": "udført"}) == 1
    assert value("beredskab_scheduled_job_runs_total", {"job": "fejler", "outcome": "fejl"}) == 1
    assert value("beredskab_scheduled_job_runs_total", {"job": "for-sent",
                                                        "outcome": "sprunget_over"}) == 1
    assert value("beredskab_scheduled_job_lag_seconds_sum", {"job": "for-sent"}) >= 300


async def test_each_service_has_its_own_registry(engine):
    first, second = Metrics(engine), Metrics(engine)
    first.request_done("/healthz", "GET", 200, 0.01)
    assert first.registry.get_sample_value("beredskab_http_request_duration_seconds_count",
                                           {"route": "/healthz", "method": "GET",
                                            "status": "2xx"}) == 1
    assert second.registry.get_sample_value("beredskab_http_request_duration_seconds_count",
                                            {"route": "/healthz", "method": "GET",
                                             "status": "2xx"}) is None


async def test_metrics_only_from_the_internal_network_or_with_the_token(service):
    # Through the reverse proxy (it adds X-Forwarded-For): refused, even from loopback.
    refused = await service.client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert refused.status == 403
    assert "BEREDSKAB_METRICS_TOKEN" in await refused.text()

    service.services.settings.metrics_token = "et-langt-hemmeligt-token"
    try:
        await scrape(service, **{"X-Forwarded-For": "203.0.113.9",
                                 "Authorization": "Bearer et-langt-hemmeligt-token"})
        wrong = await service.client.get("/metrics", headers={
            "X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer forkert"})
        assert wrong.status == 403
    finally:
        service.services.settings.metrics_token = ""


@pytest.mark.parametrize("peer,allowed", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.7", True), ("172.20.0.2", True),
    ("::1", True), ("::ffff:10.0.0.5", True), ("203.0.113.9", False), ("8.8.8.8", False), ("100.64.0.1", False),
])
def test_which_networks_may_scrape(peer, allowed):
    class Transport:
        def get_extra_info(self, name, default=None):
            return (peer, 40000) if name == "peername" else default

    request = make_mocked_request("GET", "/metrics", transport=Transport())
    assert may_scrape(request, "") is allowed


# Logs --------------------------------------------------------------------------------------------
@pytest.fixture
def log_lines():
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    unconfigure()


def unconfigure():
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_beredskab", False)]:
        root.removeHandler(handler)


async def test_json_lines_carry_the_request_and_incident(service, log_lines):
    person_id, incident_id = await activated(service)
    response = await service.client.get(f"/haendelser/{incident_id}", headers={
        DEMO: person_id, "X-Request-Id": "proeve-123"})
    assert response.status == 200
    assert response.headers["X-Request-Id"] == "proeve-123"
    await service.services.worker.run_until_idle(timeout=120)

    lines = log_lines()
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    page = [line for line in lines if line.get("request_id") == "proeve-123"]
    assert page and page[-1]["route"] == "/haendelser/{incident_id}"
    assert page[-1]["incident_id"] == incident_id
    assert page[-1]["logger"] == "bot.requests" and " 200 " in page[-1]["message"]
    delivered = [line for line in lines if line.get("delivery_id")]
    assert delivered and all(line["incident_id"] == incident_id and line.get("alert_id")
                             for line in delivered)
    # ids, never the incident's description or the people's names
    description = shooting([])["description"]
    with Session(service.engine) as session:
        names = [p.name for p in directory.list_people(session)]
    everything = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert description not in everything
    assert not [name for name in names if name in everything]


def test_tokens_are_masked_and_the_format_follows_the_mode(monkeypatch):
    stream = io.StringIO()
    logs.configure("json", stream=stream)
    try:
        logging.getLogger("proeve").warning(
            "svar: Authorization: Bearer abc.def-ghi, token eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl "
            "client_secret=hemmeligt&x=1 status_code=429")
    finally:
        unconfigure()
    (line,) = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert "abc.def-ghi" not in line["message"] and "eyJhbGciOi" not in line["message"]
    assert "hemmeligt" not in line["message"] and "status_code=429" in line["message"]
    assert line["message"].count(logs.MASKED) == 3

    monkeypatch.delenv("BEREDSKAB_LOG_FORMAT", raising=False)
    assert logs.chosen_format(demo=False) == "json"
    assert logs.chosen_format(demo=True) == "text"
    monkeypatch.setenv("BEREDSKAB_LOG_FORMAT", "text")
    assert logs.chosen_format(demo=False) == "text"
