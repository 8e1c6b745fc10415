"""The delivery worker: claims due deliveries from the outbox and sends them.

Claiming is a conditional UPDATE with a lease, portable between SQLite and PostgreSQL: a row is
taken only if nobody holds an unexpired lease on it, so several workers never send the same row
at once, and a worker that dies leaves rows that are taken again when the lease runs out.
Delivery is therefore at least once. Each try is written down (``DeliveryAttempt``) and each
outcome goes into the incident's record.

Retry rules: 429 waits the provider's Retry-After (and holds the whole channel back that long);
a transient fault (5xx, timeout, dropped connection) waits an exponential backoff with jitter; a
permanent fault, or running out of attempts, fails the delivery with its reason.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handleplaner import record
from handleplaner.clock import dansk, utcnow
from handleplaner.directory.models import Person
from handleplaner.incidents import lock_incident
from handleplaner.storage import transaction

from .channels.base import AlertMessage, Channel, DeliveryResult, Recipient
from .limits import BACKOFF_BASE, ChannelLimits, backoff
from .models import FAILED, QUEUED, SENT, Alert, Delivery, DeliveryAttempt, TeamsConversation
from .messages import alert_message

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
SECOND_ROUTE = "smtp"
CHANNEL_NAMES = {"teams": "Teams", "email": "e-mail", "smtp": "e-mail (SMTP)"}


@dataclass
class Job:
    """Deliveries of one alert over one channel that go out in one call."""

    alert_id: int
    channel: str
    delivery_ids: list[int]
    recipients: list[Recipient]
    message: AlertMessage
    earlier_cards: dict[str, tuple[str, str, dict]] = field(default_factory=dict)


class DeliveryWorker:
    def __init__(self, engine: Engine, channels: dict[str, Channel], *,
                 limits: dict[str, ChannelLimits], link_base: str, max_attempts: int = 6,
                 batch_size: int = 2000, clock: Callable[[], datetime] = utcnow,
                 seed: int | None = None, backoff_base: float = BACKOFF_BASE,
                 channel_poster=None) -> None:
        self.engine = engine
        self.channels = channels
        self.limits = limits
        self.link_base = link_base.rstrip("/")
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.clock = clock
        self.rng = random.Random(seed)
        self.backoff_base = backoff_base
        self.wakeup = asyncio.Event()
        self.channel_poster = channel_poster
        if channel_poster is not None:
            channel_poster.clock = lambda: self.clock()
        self._inflight: set[asyncio.Future] = set()
        self.name = f"worker-{uuid.uuid4().hex[:8]}"

    # Claiming ----------------------------------------------------------------------------
    def claim(self) -> list[int]:
        now = self.clock()
        token = f"{self.name}:{uuid.uuid4().hex[:8]}"
        with transaction(self.engine) as session:
            due = select(Delivery.id).where(
                Delivery.state == QUEUED, Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                Delivery.channel.in_(list(self.channels)),
            ).order_by(Delivery.next_attempt_at, Delivery.id).limit(self.batch_size)
            ids = list(session.exec(due))
            if not ids:
                return []
            session.exec(update(Delivery).where(
                Delivery.id.in_(ids), Delivery.state == QUEUED,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            ).values(claimed_by=token, claimed_until=now + LEASE))
            return list(session.exec(select(Delivery.id).where(Delivery.claimed_by == token)))

    # Building the calls ---------------------------------------------------------------------
    def _jobs(self, ids: list[int]) -> list[Job]:
        with Session(self.engine) as session:
            deliveries = list(session.exec(select(Delivery).where(Delivery.id.in_(ids))
                                            .order_by(Delivery.id)))
            people = {p.id: p for p in session.exec(
                select(Person).where(Person.id.in_({d.person_id for d in deliveries})))}
            conversations = {c.person_id: c.conversation_id for c in session.exec(
                select(TeamsConversation).where(
                    TeamsConversation.person_id.in_({d.person_id for d in deliveries})))}
            messages: dict[int, AlertMessage] = {}
            grouped: dict[tuple[int, str], list[Delivery]] = defaultdict(list)
            for delivery in deliveries:
                grouped[(delivery.alert_id, delivery.channel)].append(delivery)
                if delivery.alert_id not in messages:
                    messages[delivery.alert_id] = self._message(session, delivery.alert_id)
            earlier = {alert_id: self._earlier_cards(session, alert_id,
                                                     {d.person_id for d in rows})
                       for (alert_id, channel), rows in grouped.items() if channel == "teams"}
        jobs = []
        for (alert_id, channel), rows in grouped.items():
            size = max(1, self.channels[channel].max_batch)
            for start in range(0, len(rows), size):
                chunk = rows[start:start + size]
                jobs.append(Job(
                    alert_id=alert_id, channel=channel, delivery_ids=[d.id for d in chunk],
                    recipients=[self._recipient(people[d.person_id], conversations) for d in chunk],
                    message=messages[alert_id],
                    earlier_cards={d.person_id: earlier[alert_id][d.person_id] for d in chunk
                                   if d.person_id in earlier.get(alert_id, {})}))
        return jobs

    @staticmethod
    def _recipient(person: Person, conversations: dict[str, str]) -> Recipient:
        return Recipient(person_id=person.id, name=person.name, email=person.email,
                         teams_user_id=person.teams_user_id,
                         conversation_id=conversations.get(person.id))

    def _message(self, session: Session, alert_id: int) -> AlertMessage:
        return alert_message(session, session.get(Alert, alert_id), self.link_base)

    def _earlier_cards(self, session: Session, alert_id: int,
                       person_ids: set[str]) -> dict[str, tuple[str, str, dict]]:
        """For a follow-up: each person's card of the alert it follows, redrawn with a notice,
        to replace in Teams (person -> conversation id, activity id, card)."""
        alert = session.get(Alert, alert_id)
        if alert is None or alert.parent_alert_id is None:
            return {}
        parent = session.get(Alert, alert.parent_alert_id)
        moment = dansk(alert.created_at)
        notice = (f"Beredskabet er afsluttet (normaldrift) {moment}." if alert.kind == "normaldrift"
                  else f"Opdateret {moment}: se den nye besked.")
        card = alert_message(session, parent, self.link_base, notice=notice).card
        rows = session.exec(select(Delivery).where(
            Delivery.alert_id == parent.id, Delivery.channel == "teams",
            Delivery.person_id.in_(person_ids), Delivery.provider_message_id.is_not(None)))
        return {d.person_id: (d.conversation_id, d.provider_message_id, card) for d in rows
                if d.conversation_id}

    # Sending --------------------------------------------------------------------------------
    async def _process(self, job: Job, started_jobs: set[int]) -> int:
        """Wait for room under the limits (cancellable), then call and settle (shielded: a
        worker that is stopped finishes the calls already made and writes their outcome)."""
        limits = self.limits.get(job.channel)
        slot = limits.requests(self._requests_needed(job)) if limits else contextlib.nullcontext()
        async with slot as taken:
            started_jobs.add(id(job))
            inner = asyncio.ensure_future(self._call_and_settle(
                job, limits, getattr(taken, "done", None)))
            self._inflight.add(inner)
            inner.add_done_callback(self._inflight.discard)
            return await asyncio.shield(inner)

    async def _call_and_settle(self, job: Job, limits: ChannelLimits | None,
                               answered: Callable[[], None] | None = None) -> int:
        started = asyncio.get_running_loop().time()
        try:
            result = await self.channels[job.channel].send(job.message, job.recipients)
        except Exception as error:  # a bug in a channel must not stop the worker
            log.exception("channel %s failed", job.channel)
            result = DeliveryResult(ok=False, error=f"intern fejl: {error!r}"[:500], transient=True)
        finally:
            if answered is not None:  # the limits count from the answer, not from the settle
                answered()
        if result.throttled and limits:
            limits.pause(result.retry_after or 1.0)
        duration = (asyncio.get_running_loop().time() - started) * 1000
        await asyncio.to_thread(self._settle, job, result, duration)
        if result.ok and job.earlier_cards:
            await self._replace_earlier_cards(job, limits)
        return len(job.delivery_ids)

    def release(self, delivery_ids: list[int]) -> None:
        """Give back claimed rows that were never tried, so another worker takes them at once."""
        if not delivery_ids:
            return
        with transaction(self.engine) as session:
            session.exec(update(Delivery).where(Delivery.id.in_(delivery_ids),
                                                Delivery.state == QUEUED)
                         .values(claimed_by=None, claimed_until=None))

    @staticmethod
    def _requests_needed(job: Job) -> int:
        """HTTP requests the call makes: a Teams recipient without a conversation needs two."""
        if job.channel == "teams":
            return sum(1 if r.conversation_id else 2 for r in job.recipients)
        return 1

    async def _replace_earlier_cards(self, job: Job, limits: ChannelLimits | None) -> None:
        """Thread a follow-up in Teams: the earlier card is redrawn with a notice. Best effort:
        one retry after a 429's Retry-After; the new message has gone out either way."""
        channel = self.channels[job.channel]
        if not hasattr(channel, "update_card"):
            return
        for conversation_id, activity_id, card in job.earlier_cards.values():
            for _ in range(2):
                try:
                    if limits:
                        async with limits:
                            result = await channel.update_card(conversation_id, activity_id, card)
                    else:
                        result = await channel.update_card(conversation_id, activity_id, card)
                except Exception:
                    log.warning("could not update the earlier card %s", activity_id, exc_info=True)
                    break
                if not result.throttled:
                    break
                await asyncio.sleep(min(result.retry_after or 1.0, 30.0))

    def _settle(self, job: Job, result: DeliveryResult, duration_ms: float) -> None:
        now = self.clock()
        with transaction(self.engine) as session:
            incident_id = session.get(Alert, job.alert_id).incident_id
            lock_incident(session, incident_id)
            for delivery_id, recipient in zip(job.delivery_ids, job.recipients):
                delivery = session.get(Delivery, delivery_id)
                if delivery is None or delivery.state != QUEUED:
                    continue
                delivery.attempts += 1
                delivery.claimed_by = None
                delivery.claimed_until = None
                outcome = self._apply(delivery, result, now)
                session.add(DeliveryAttempt(
                    delivery_id=delivery.id, at=now, outcome=outcome,
                    status_code=result.status_code, error=result.error,
                    retry_after=result.retry_after, duration_ms=int(duration_ms)))
                if result.conversation_id and job.channel == "teams":
                    self._keep_conversation(session, recipient.person_id, result.conversation_id, now)
                self._record(session, delivery, recipient, outcome, result, now)
                session.add(delivery)
                if outcome == "permanent":
                    self._second_route(session, delivery, recipient, now)

    def _apply(self, delivery: Delivery, result: DeliveryResult, now: datetime) -> str:
        if result.ok:
            delivery.state, delivery.sent_at, delivery.last_error = SENT, now, None
            delivery.provider_message_id = result.provider_message_id
            delivery.conversation_id = result.conversation_id
            return "sendt"
        delivery.last_error = result.error
        if result.transient and delivery.attempts < self.max_attempts:
            wait = result.retry_after if result.throttled and result.retry_after else backoff(
                delivery.attempts, self.rng, self.backoff_base)
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            return "begrænset" if result.throttled else "midlertidig"
        delivery.state = FAILED
        return "permanent"

    def _second_route(self, session: Session, delivery: Delivery, recipient: Recipient,
                      now: datetime) -> None:
        """Mail that Graph could not deliver goes again by SMTP, the second mail route."""
        if delivery.channel != "email" or SECOND_ROUTE not in self.channels:
            return
        exists = session.exec(select(Delivery.id).where(
            Delivery.alert_id == delivery.alert_id, Delivery.person_id == delivery.person_id,
            Delivery.channel == SECOND_ROUTE)).first()
        if exists is not None:
            return
        session.add(Delivery(alert_id=delivery.alert_id, incident_id=delivery.incident_id,
                             person_id=delivery.person_id, channel=SECOND_ROUTE, state=QUEUED,
                             next_attempt_at=now, created_at=now,
                             escalation_level=delivery.escalation_level,
                             on_behalf_of=delivery.on_behalf_of))
        record.append(session, incident_id=delivery.incident_id, actor_id=record.SYSTEM,
                      action="varsel.anden_rute", at=now,
                      summary=f"E-mail til {recipient.name} sendes igen via SMTP (anden postrute)",
                      data={"delivery_id": delivery.id, "alert_id": delivery.alert_id})

    @staticmethod
    def _keep_conversation(session: Session, person_id: str, conversation_id: str,
                           now: datetime) -> None:
        existing = session.get(TeamsConversation, person_id)
        if existing is None:
            session.add(TeamsConversation(person_id=person_id, conversation_id=conversation_id,
                                          service_url="", created_at=now))
        elif existing.conversation_id != conversation_id:
            existing.conversation_id = conversation_id
            session.add(existing)

    @staticmethod
    def _record(session: Session, delivery: Delivery, recipient: Recipient, outcome: str,
                result: DeliveryResult, now: datetime) -> None:
        channel = CHANNEL_NAMES.get(delivery.channel, delivery.channel)
        if outcome == "sendt":
            action, summary = "varsel.leveret", f"Varsel leveret til {recipient.name} via {channel}"
        elif outcome == "permanent":
            action = "varsel.fejlet"
            summary = f"Varsel til {recipient.name} via {channel} fejlede: {result.error}"
        else:
            action = "varsel.forsinket"
            summary = (f"Varsel til {recipient.name} via {channel} forsøges igen "
                       f"(forsøg {delivery.attempts}: {result.error})")
        record.append(session, incident_id=delivery.incident_id, actor_id=record.SYSTEM,
                      action=action, summary=summary, at=now,
                      data={"delivery_id": delivery.id, "alert_id": delivery.alert_id,
                            "person_id": delivery.person_id, "channel": delivery.channel,
                            "attempt": delivery.attempts, "status_code": result.status_code})

    # Running ------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim what is due, send it, write the outcomes; return how many deliveries were tried.

        Stopped (cancelled) half-way, it hands back the rows it had not yet tried and waits for
        the calls already made, so a restart neither loses nor repeats them."""
        posted = await self.channel_poster.run_once() if self.channel_poster else 0
        ids = await asyncio.to_thread(self.claim)
        if not ids:
            return posted
        jobs = await asyncio.to_thread(self._jobs, ids)
        started_jobs: set[int] = set()
        tasks = [asyncio.ensure_future(self._process(job, started_jobs)) for job in jobs]
        try:
            return posted + sum(await asyncio.gather(*tasks))
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            untried = [i for job in jobs if id(job) not in started_jobs for i in job.delivery_ids]
            await asyncio.shield(self._stop(untried))
            raise

    async def _stop(self, untried: list[int]) -> None:
        await asyncio.gather(*list(self._inflight), return_exceptions=True)
        await asyncio.to_thread(self.release, untried)

    async def run_until_idle(self, timeout: float = 60.0) -> None:
        """Work until nothing is queued (tests and the demo)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await self.run_once():
                continue
            if not await asyncio.to_thread(self.pending):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("deliveries still queued after the timeout")

    def pending(self) -> int:
        with Session(self.engine) as session:
            queued = session.exec(select(func.count()).select_from(Delivery)
                                  .where(Delivery.state == QUEUED)).one()
        return queued + (self.channel_poster.pending() if self.channel_poster else 0)

    async def run_forever(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep delivering: log and try again at the next poll
                log.exception("delivery worker round failed")
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=poll_seconds)
            except asyncio.TimeoutError:
                pass
            self.wakeup.clear()
