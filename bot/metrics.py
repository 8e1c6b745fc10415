"""Prometheus metrics at ``/metrics`` (prometheus_client, one registry per running service).

- ``beredskab_deliveries{channel,state}``: deliveries by channel and state, counted at scrape time
  with one grouped query; ``beredskab_outbox_queued{channel}`` and
  ``beredskab_outbox_oldest_queued_seconds{channel}``: the queue and how long its oldest row has
  waited since it was accepted; ``beredskab_database_up``: whether that query answered.
- ``beredskab_http_request_duration_seconds{route,method,status}``: latency by the route's pattern
  (``/haendelser/{incident_id}``, never the raw path) and status class (``2xx``…).
- ``beredskab_scheduled_job_lag_seconds{job}``: how late each APScheduler job started against its
  scheduled time; ``beredskab_scheduled_job_runs_total{job,outcome}`` (udført, fejl, sprunget_over).
- ``beredskab_card_presses_total{verb,result}``: Teams card buttons by verb and answer.
- ``beredskab_read_backs_total{channel,outcome}``: interrupted deliveries looked up at Microsoft.

Who may scrape: a caller on loopback or a private network that did not come through the reverse
proxy (no ``X-Forwarded-For``/``Forwarded``/``X-Real-IP``), or anyone with
``Authorization: Bearer <BEREDSKAB_METRICS_TOKEN>``. Everyone else gets 403.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from datetime import timezone

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handleplaner.clock import utcnow
from notifications.models import QUEUED, Delivery

from . import access
from .card_action import VERBS
from .keys import SERVICES

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
KNOWN_VERBS = frozenset(VERBS)
FORWARDED_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
INTERNAL = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # loopback, RFC 1918
    "::1/128", "fc00::/7")]  # IPv6 loopback and unique local addresses


class OutboxCollector:
    """Deliveries by channel and state, read when Prometheus scrapes (one grouped query)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self):
        by_state = GaugeMetricFamily("beredskab_deliveries", "Leveringer efter kanal og tilstand",
                                     labels=["channel", "state"])
        queued = GaugeMetricFamily("beredskab_outbox_queued", "Leveringer i kø efter kanal",
                                   labels=["channel"])
        oldest = GaugeMetricFamily("beredskab_outbox_oldest_queued_seconds",
                                   "Sekunder siden den ældste leverings i kø blev modtaget",
                                   labels=["channel"])
        up = GaugeMetricFamily("beredskab_database_up", "1 hvis databasen svarede ved skrabningen")
        try:
            with Session(self.engine) as session:
                rows = list(session.exec(
                    select(Delivery.channel, Delivery.state, func.count(),
                           func.min(Delivery.created_at))
                    .group_by(Delivery.channel, Delivery.state)))
        except Exception:  # the scrape still answers: the database is down
            log.warning("metrics: the delivery counts could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        now = utcnow()
        for channel, state, count, first in rows:
            by_state.add_metric([channel, state], count)
            if state == QUEUED:
                queued.add_metric([channel], count)
                first = first if first.tzinfo else first.replace(tzinfo=timezone.utc)
                oldest.add_metric([channel], max(0.0, (now - first).total_seconds()))
        yield from (by_state, queued, oldest, up)


class Metrics:
    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "beredskab_http_request_duration_seconds", "Svartid efter rute og statusklasse",
            ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.job_lag = Histogram(
            "beredskab_scheduled_job_lag_seconds", "Hvor sent et planlagt job startede",
            ["job"], buckets=LAG_BUCKETS, registry=self.registry)
        self.job_runs = Counter(
            "beredskab_scheduled_job_runs", "Planlagte jobs efter udfald", ["job", "outcome"],
            registry=self.registry)
        self.card_presses = Counter(
            "beredskab_card_presses", "Tryk på knapper i Teams-kort", ["verb", "result"],
            registry=self.registry)
        self.read_backs = Counter(
            "beredskab_read_backs", "Afbrudte leveringer slået op hos Microsoft efter udfald "
            "(fundet, ikke_fundet, ubesvaret)", ["channel", "outcome"], registry=self.registry)
        self.registry.register(OutboxCollector(engine))

    # Observations ----------------------------------------------------------------------------
    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, f"{status // 100}xx").observe(seconds)

    def read_back(self, channel: str, outcome: str) -> None:
        self.read_backs.labels(channel, outcome).inc()

    def card_pressed(self, verb: str | None, status: int) -> None:
        label = verb if verb in KNOWN_VERBS else "ukendt"
        self.card_presses.labels(label, "ok" if status == 200 else str(status)).inc()

    def watch_scheduler(self, scheduler) -> None:
        """Lag and outcome of every job run (APScheduler events)."""
        from apscheduler.events import (EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED,
                                        EVENT_JOB_SUBMITTED)

        outcomes = {EVENT_JOB_EXECUTED: "udført", EVENT_JOB_ERROR: "fejl",
                    EVENT_JOB_MISSED: "sprunget_over"}

        def observed(event) -> None:
            job = job_label(event)
            if event.code == EVENT_JOB_SUBMITTED:
                times = event.scheduled_run_times or []
                if times:
                    self.job_lag.labels(job).observe(lag_seconds(min(times)))
                return
            if event.code == EVENT_JOB_MISSED:
                self.job_lag.labels(job).observe(lag_seconds(event.scheduled_run_time))
            self.job_runs.labels(job, outcomes[event.code]).inc()

        scheduler.add_listener(observed, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED
                               | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def job_label(event) -> str:
    """The job's id for the named interval and cron jobs; the store's name for the many date
    jobs of a persistent store (one per commitment), so the label set stays small."""
    store = getattr(event, "jobstore", "default")
    return event.job_id if store == "default" else store


def lag_seconds(scheduled) -> float:
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=timezone.utc)
    return max(0.0, (utcnow() - scheduled).total_seconds())


# Access -----------------------------------------------------------------------------------------
def may_scrape(request: web.Request, token: str) -> bool:
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    if any(name in request.headers for name in FORWARDED_HEADERS):
        return False  # through the reverse proxy: from the internet
    try:
        peer = ipaddress.ip_address((request.remote or "").split("%")[0])
    except ValueError:
        return False
    if getattr(peer, "ipv4_mapped", None):
        peer = peer.ipv4_mapped
    return any(peer in network for network in INTERNAL)


@access.rule(access.PUBLIC)  # narrowed in the handler: internal networks or the bearer token
async def scrape(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if not may_scrape(request, services.settings.metrics_token):
        raise web.HTTPForbidden(text="Målingerne kan kun hentes fra det interne net eller med "
                                     "BEREDSKAB_METRICS_TOKEN.")
    body = await asyncio.to_thread(services.metrics.exposition)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def routes() -> list[web.RouteDef]:
    return [web.get("/metrics", scrape)]
