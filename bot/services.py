"""Wiring: the parts the running service is made of, built from settings, closed on shutdown."""
from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from dataclasses import dataclass, field

import aiohttp
from alembic.runtime.migration import MigrationContext
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from alembic.script import ScriptDirectory
from microsoft_agents.hosting.aiohttp import CloudAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from handleplaner.directory import DEMO_ORGANISATION, import_directory_file
from handleplaner.directory.models import Person
from handleplaner.storage import alembic_config, exclusive, make_engine, upgrade_database
from notifications.calendar import MeetingCalendar
from notifications.channels.email import GraphMailChannel, graph_client
from notifications.channels.mail_read_back import SentItemsReadBack
from notifications.channels.teams_read_back import TeamsChatReadBack
from notifications.channel_posts import ChannelPoster
from notifications.channels.smtp import SmtpMailChannel
from notifications.channels.teams_channel import TeamsChannelPoster
from notifications.channels.teams import ConnectorClients, TeamsChatChannel
from notifications.escalation import escalate_due
from notifications.plan_timebox import run_timebox
from notifications.limits import ChannelLimits, SlidingWindow
from notifications.tokens import ClientCredentialsTokens
from notifications.worker import DeliveryWorker

from .activity_auth import ActivityTokenValidator
from .agent import BeredskabAgent
from .connector_factory import ConnectorClientFactory
from .settings import Settings, SettingsError


def demo_settings(emulator_url: str, *, smtp_port: int | None = None, **overrides) -> Settings:
    """Settings that point every Microsoft 365 address at the local emulator."""
    from m365emulator.config import (DEFAULT_BOT_APP_ID, DEFAULT_BOT_APP_SECRET,
                                     DEFAULT_TENANT_ID)

    base = emulator_url.rstrip("/")
    values = dict(
        demo=True, tenant_id=DEFAULT_TENANT_ID, bot_app_id=DEFAULT_BOT_APP_ID,
        bot_app_secret=DEFAULT_BOT_APP_SECRET,
        token_url=f"{base}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
        graph_base_url=f"{base}/v1.0", connector_url=f"{base}/connector/",
        bot_openid_metadata_url=f"{base}/botframework/v1/.well-known/openidconfiguration",
        session_secret=secrets.token_urlsafe(32),
        entra_client_id=DEFAULT_BOT_APP_ID, entra_client_secret=DEFAULT_BOT_APP_SECRET,
        entra_authority=f"{base}/{DEFAULT_TENANT_ID}/v2.0",
    )
    if smtp_port:
        host = emulator_url.split("//", 1)[1].rsplit(":", 1)[0]
        values.update(smtp_host=host, smtp_port=smtp_port, smtp_sender="ssp-beredskab@kk.example")
    values.update(overrides)
    return Settings(**values)


def schema_is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def prepare_database(settings: Settings) -> Engine:
    """Demo: bring the schema up and load the demo organisation if the directory is empty.
    Production: refuse to start on a schema that is not at the newest migration.
    Replicas starting at once take turns (a PostgreSQL advisory lock): one upgrades and imports,
    the next finds it done."""
    with exclusive(settings.database_url, "beredskab:klargoering"):
        if settings.demo:
            upgrade_database(settings.database_url)
        engine = make_engine(settings.database_url)
        if not schema_is_current(engine):
            raise SettingsError("Databasen er ikke opdateret. Kør: beredskab db upgrade")
        if settings.demo or settings.directory_file:
            with Session(engine) as session:
                empty = session.exec(select(func.count()).select_from(Person)).one() == 0
            if empty:
                import_directory_file(engine, settings.directory_file or DEMO_ORGANISATION)
        prepare_job_store(engine)
    return engine


def prepare_job_store(engine: Engine) -> None:
    """Create the persistent job store's table now, under the start-up lock, rather than in
    every replica's scheduler at once (two CREATE TABLEs would collide)."""
    if engine.url.get_backend_name() == "sqlite":
        return
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url=job_store_url(engine))
    try:
        store.jobs_t.create(store.engine, checkfirst=True)
    finally:
        store.engine.dispose()


@dataclass
class Services:
    settings: Settings
    engine: Engine
    http: aiohttp.ClientSession
    tokens: ClientCredentialsTokens
    connectors: ConnectorClients
    worker: DeliveryWorker
    validator: ActivityTokenValidator
    adapter: CloudAdapter
    agent: BeredskabAgent
    calendar: MeetingCalendar | None = None
    metrics: "Metrics | None" = None  # bot/metrics.py (imported late: it imports the keys)
    tasks: list[asyncio.Task] = field(default_factory=list)
    scheduler: AsyncIOScheduler | None = None
    leadership: "Leadership | None" = None  # bot/leader.py: who runs the scheduled jobs
    anchorer: "Anchorer | None" = None  # signs the record's heads (bot/record_anchors.py)

    async def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.connectors.close()
        await self.http.close()
        self.engine.dispose()


def channel_limits(settings: Settings) -> dict[str, ChannelLimits]:
    return {
        # At an even pace a little faster than the limit (which still binds): no bursts.
        "teams": ChannelLimits([SlidingWindow(max(1, int(settings.teams_requests_per_second)), 1.0,
                                              count_from_end=True,
                                              spacing=0.8 / settings.teams_requests_per_second)],
                               concurrency=max(1, int(settings.teams_requests_per_second))),
        "email": ChannelLimits([SlidingWindow(settings.mail_messages_per_minute, 60.0)],
                               concurrency=settings.mail_concurrency),
        "smtp": ChannelLimits([SlidingWindow(settings.mail_messages_per_minute, 60.0)],
                              concurrency=settings.mail_concurrency),
    }


def read_backs(tokens: ClientCredentialsTokens, settings: Settings) -> dict:
    """How the worker finds out whether an interrupted call reached Microsoft, per channel."""
    graph = graph_client(tokens, settings.graph_base_url)
    return {"teams": TeamsChatReadBack(graph, bot_app_id=settings.bot_app_id),
            "email": SentItemsReadBack(graph, sender=settings.sender_mailbox)}


async def build_services(settings: Settings, *, engine: Engine | None = None,
                         start_worker: bool = True) -> Services:
    engine = engine or await asyncio.to_thread(prepare_database, settings)
    http = aiohttp.ClientSession()
    tokens = ClientCredentialsTokens(http, token_url=settings.token_url,
                                     client_id=settings.bot_app_id,
                                     client_secret=settings.bot_app_secret)
    connectors = ConnectorClients(tokens)
    channels = {
        "teams": TeamsChatChannel(connectors, service_url=settings.connector_url,
                                  bot_app_id=settings.bot_app_id, tenant_id=settings.tenant_id),
        "email": GraphMailChannel(graph_client(tokens, settings.graph_base_url),
                                  sender=settings.sender_mailbox,
                                  max_batch=settings.mail_max_recipients),
    }
    if settings.smtp_host:
        channels["smtp"] = SmtpMailChannel(
            host=settings.smtp_host, port=settings.smtp_port,
            sender=settings.smtp_sender or settings.sender_mailbox,
            starttls=settings.smtp_starttls, username=settings.smtp_username or None,
            password=settings.smtp_password or None)
    limits = channel_limits(settings)
    poster = ChannelPoster(engine, TeamsChannelPoster(connectors, service_url=settings.connector_url,
                                                      bot_app_id=settings.bot_app_id,
                                                      tenant_id=settings.tenant_id),
                           link_base=settings.public_url, limits=limits["teams"],
                           max_attempts=settings.delivery_max_attempts)
    worker = DeliveryWorker(engine, channels, limits=limits, link_base=settings.public_url,
                            max_attempts=settings.delivery_max_attempts, channel_poster=poster,
                            lease=timedelta(seconds=settings.delivery_lease_seconds),
                            read_back=read_backs(tokens, settings))
    services = Services(
        settings=settings, engine=engine, http=http, tokens=tokens, connectors=connectors,
        worker=worker,
        validator=ActivityTokenValidator(http, metadata_url=settings.bot_openid_metadata_url,
                                         issuer=settings.bot_issuer, app_id=settings.bot_app_id),
        adapter=CloudAdapter(channel_service_client_factory=ConnectorClientFactory(tokens)),
        agent=BeredskabAgent(engine, settings.public_url, on_change=worker.wakeup.set),
    )
    services.adapter.on_turn_error = turn_error
    from .record_anchors import anchorer

    services.anchorer = await asyncio.to_thread(anchorer, settings)
    from .metrics import Metrics

    services.metrics = Metrics(engine)
    services.agent.pressed = services.metrics.card_pressed
    services.worker.read_back_seen = services.metrics.read_back
    services.calendar = MeetingCalendar(graph_client(tokens, settings.graph_base_url),
                                        organizer=settings.sender_mailbox)
    if start_worker:
        services.tasks.append(asyncio.create_task(worker.run_forever(settings.worker_poll_seconds),
                                                  name="leveringsarbejder"))  # bot/health.py
        from .leader import Leadership

        services.leadership = Leadership(engine)
        services.scheduler = escalation_scheduler(services)
        services.metrics.watch_scheduler(services.scheduler)
        # Paused until this replica is the leader; paused, it still stores new reminder jobs.
        services.scheduler.start(paused=services.leadership.shared)
        services.leadership.on_elected = lambda: lead_scheduler(services.scheduler, True)
        services.leadership.on_deposed = lambda: lead_scheduler(services.scheduler, False)
        services.tasks.append(asyncio.create_task(services.leadership.run(), name="leder"))
    return services


def lead_scheduler(scheduler: AsyncIOScheduler, leading: bool) -> None:
    """Run the scheduler's jobs while this replica leads; pause them when it stops leading
    (never touching a scheduler that has been shut down)."""
    from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING

    if leading and scheduler.state == STATE_PAUSED:
        scheduler.resume()
    elif not leading and scheduler.state == STATE_RUNNING:
        scheduler.pause()


async def turn_error(context, error: Exception) -> None:
    """Log the bot's failure; tell the user in Danish, without the exception's text."""
    logging.getLogger("bot").error("turn failed: %r", error, exc_info=error)
    try:
        await context.send_activity("Der skete en fejl hos SSP Beredskab. Prøv igen om lidt, "
                                    "eller kontakt SSP Sekretariatet.")
    except Exception:  # the reply itself may fail (e.g. throttled); the log has the error
        pass


def job_store_url(engine: Engine) -> str:
    """Where the persistent jobs live: the same PostgreSQL database; for SQLite a file of its
    own next to the database (SQLite allows one writer, and jobs are added while the service's
    own transaction commits)."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return url.render_as_string(hide_password=False)
    database = url.database or ""
    if database in ("", ":memory:"):
        return "sqlite://"
    return f"sqlite:///{database}.jobs"


def escalation_scheduler(services: "Services") -> AsyncIOScheduler:
    """APScheduler: escalation and the plan's time-box every so often (in memory), and the
    commitments' reminders as date jobs in a persistent job store in the database."""
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from notifications import commitment_reminders

    from .leader import guarded

    lead = getattr(services, "leadership", None)
    only_leader = (lambda job: guarded(lead, job)) if lead is not None else (lambda job: job)
    scheduler = AsyncIOScheduler(timezone="UTC", jobstores={
        "default": MemoryJobStore(),
        commitment_reminders.JOBSTORE: SQLAlchemyJobStore(url=job_store_url(services.engine))})
    settings = services.settings
    start, end = (int(x) for x in settings.quiet_hours.split("-"))
    commitment_reminders.CONTEXT = commitment_reminders.Context(
        engine=services.engine, link_base=settings.public_url,
        remind_after=timedelta(minutes=settings.commitment_remind_minutes),
        escalate_after=timedelta(minutes=settings.commitment_escalate_minutes),
        quiet=(start, end), scheduler=scheduler,
        wake=commitment_reminders.make_wake(asyncio.get_running_loop(), services.worker.wakeup))

    async def escalate() -> None:
        if await asyncio.to_thread(escalate_due, services.engine):
            services.worker.wakeup.set()

    async def timebox() -> None:
        if await asyncio.to_thread(run_timebox, services.engine, services.settings.public_url):
            services.worker.wakeup.set()

    scheduler.add_job(only_leader(escalate), "interval",
                      seconds=services.settings.escalation_check_seconds,
                      id="eskalering", max_instances=1, coalesce=True)
    async def meeting_answers() -> None:
        from handleplaner.clock import utcnow
        from handleplaner.meetings.models import Meeting
        from notifications.meeting_invites import sync_responses

        with Session(services.engine) as session:
            upcoming = list(session.exec(select(Meeting.id).where(
                Meeting.state == "indkaldt", Meeting.graph_event_id.is_not(None),
                Meeting.ends_at > utcnow())))
        for meeting_id in upcoming:
            await sync_responses(services.engine, services.calendar, meeting_id)
        if upcoming:
            services.worker.wakeup.set()

    scheduler.add_job(only_leader(timebox), "interval", seconds=60, id="tidsramme",
                      max_instances=1, coalesce=True)
    scheduler.add_job(only_leader(meeting_answers), "interval", seconds=60, id="moedesvar",
                      max_instances=1, coalesce=True)

    signer = getattr(services, "anchorer", None)
    if signer is not None:  # the record's heads, signed outside the database
        from .record_anchors import JOB_SECONDS, run_job

        async def anchor_job() -> None:
            await asyncio.to_thread(run_job, signer, services.engine)

        scheduler.add_job(only_leader(anchor_job), "interval", seconds=JOB_SECONDS,
                          id="loggens-anker", max_instances=1, coalesce=True)

    async def retention_job() -> None:
        from . import retention

        await asyncio.to_thread(retention.run, services.engine, services.settings)

    # Retention: every night at 03:30 Copenhagen time (handleplaner.retention).
    scheduler.add_job(only_leader(retention_job), "cron", hour=3, minute=30,
                      timezone="Europe/Copenhagen",
                      id="retention", max_instances=1, coalesce=True, misfire_grace_time=3600)

    # The directory from Entra ID: nightly at BEREDSKAB_DIRECTORY_SYNC_AT (off when unset).
    if settings.directory_sync_time is not None:
        from .directory_sync import nightly

        async def directory_sync_job() -> None:
            await nightly(services.engine, services.settings, tokens=services.tokens,
                          wake=services.worker.wakeup.set)

        hour, minute = settings.directory_sync_time
        scheduler.add_job(only_leader(directory_sync_job), "cron", hour=hour, minute=minute,
                          timezone="Europe/Copenhagen", id="katalogsynkronisering",
                          max_instances=1, coalesce=True, misfire_grace_time=3600)
    return scheduler
