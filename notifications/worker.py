"""The delivery worker: claims due deliveries from the outbox and sends them.

Claiming takes a lease (``notifications.lease``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
conditional UPDATE on SQLite): a row is taken only if nobody holds an unexpired lease on it, so
several workers (several replicas) never send the same row at once, and a worker that dies leaves
rows that are taken again when the lease runs out. The worker renews the lease while it works.
When Microsoft accepts a call the worker writes a receipt on the rows at once, then the outcome
(``DeliveryAttempt``, the incident's record) with others in one transaction; a row with a
receipt is never sent again, and a dead worker's receipts are written down as sent by the next
(``settle_answered``). A call Microsoft received in the instant its worker died (in flight, or
answered before the receipt's commit) leaves an *interrupted* row; before it is sent again the
worker reads back from Microsoft whether it arrived (``channels/read_back.py``), so a crash
alerts nobody twice. A call that went out and got no answer (the connection was reset, the
client's timeout ran out) is *unknown*, not failed: Microsoft may have posted the card or sent
the mail and the answer was lost (``channels/unanswered.py``). Its rows stay queued, marked
``ubesvaret:`` (``lease.UNANSWERED``), and are read back the same way before anything is sent
again, so once means once.

Retry rules: 429 waits the provider's Retry-After (and holds the whole channel back that long);
a transient fault (5xx, a connection that could not be opened) waits an exponential backoff with
jitter; a permanent fault, or running out of attempts, fails the delivery with its reason. An
unanswered call waits the backoff too and is then read back; one whose attempts are used up and
that the read-back does not find fails instead of being sent again. When Microsoft cannot say
(the read-back itself fails), the rows wait a backoff and are asked about again.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handleplaner import log_context, record
from handleplaner.clock import dansk, utcnow
from handleplaner.directory.models import Person
from handleplaner.incidents import lock_incident
from handleplaner.storage import transaction

from . import lease as leases
from .channels.base import AlertMessage, Channel, DeliveryResult, Recipient
from .channels.read_back import ReadBack, ReadBackFailed
from .conversations import keep_conversation
from .limits import BACKOFF_BASE, ChannelLimits, backoff
from .models import FAILED, QUEUED, SENT, Alert, Delivery, DeliveryAttempt, TeamsConversation
from .messages import alert_message

log = logging.getLogger(__name__)

LEASE = leases.LEASE
SETTLE_GROUP = 10  # outcomes per transaction: bounds how long the incident stays locked
# (a card press waits for it), while one transaction still writes many outcomes
SECOND_ROUTE = "smtp"
CHANNEL_NAMES = {"teams": "Teams", "email": "e-mail", "smtp": "e-mail (SMTP)"}
# The note on an attempt that found an interrupted call's delivery instead of making it again.
FOUND_AGAIN = {"teams": "fundet i Teams-chatten efter et afbrudt kald",
               "email": "fundet i Sendt post efter et afbrudt kald"}
UNANSWERED_OUTCOME = "ukendt"  # the attempt's outcome when no answer came (it may have arrived)
# The least wait before an unanswered call is read back: what a call did is not promised to be
# listed (the chat's messages, Sent Items) the instant it took effect, and a copy not yet listed
# would be sent again. Longer than the first backoffs; later ones are longer still.
UNANSWERED_WAIT = 5.0
NOT_FOUND_SPENT = ("intet svar fra Microsoft, og varslet blev ikke fundet ved genlæsningen; "
                   "forsøgene er brugt op")


@dataclass
class Job:
    """Deliveries of one alert over one channel that go out in one call."""

    alert_id: int
    incident_id: int  # locked when the outcome is written; named in the log lines
    channel: str
    delivery_ids: list[int]
    recipients: list[Recipient]
    message: AlertMessage
    earlier_cards: dict[str, tuple[str, str, dict]] = field(default_factory=dict)
    # An earlier claim of these rows ran out unanswered: the call may have reached Microsoft.
    interrupted: bool = False
    queued_at: datetime | None = None
    attempts: dict[int, int] = field(default_factory=dict)  # delivery id -> attempts so far

    def part(self, pairs: list[tuple[int, Recipient]]) -> "Job":
        """The same call for some of its rows, given as (delivery id, recipient)."""
        people = {recipient.person_id for _, recipient in pairs}
        return replace(self, delivery_ids=[i for i, _ in pairs],
                       recipients=[r for _, r in pairs],
                       earlier_cards={p: c for p, c in self.earlier_cards.items() if p in people})


@dataclass
class Settling:
    """What one transaction of outcomes has read, and the record entries it will write."""

    deliveries: dict[int, Delivery]
    conversations: dict[str, TeamsConversation] = field(default_factory=dict)
    entries: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))


class DeliveryWorker:
    def __init__(self, engine: Engine, channels: dict[str, Channel], *,
                 limits: dict[str, ChannelLimits], link_base: str, max_attempts: int = 6,
                 batch_size: int = 2000, clock: Callable[[], datetime] = utcnow,
                 seed: int | None = None, backoff_base: float = BACKOFF_BASE,
                 channel_poster=None, lease: timedelta = LEASE,
                 read_back: dict[str, ReadBack] | None = None) -> None:
        self.engine = engine
        # Per channel: did an interrupted call reach Microsoft after all? (channels/read_back.py)
        self.read_back = dict(read_back or {})
        self.read_back_seen: Callable[[str, str], None] = lambda channel, outcome: None  # metrics
        self.interrupted: set[int] = set()  # rows of this round whose earlier claim ran out
        self.channels = channels
        self.limits = limits
        self.link_base = link_base.rstrip("/")
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.clock = clock
        self.rng = random.Random(seed)
        self.backoff_base = backoff_base
        self.unanswered_wait = UNANSWERED_WAIT
        self.wakeup = asyncio.Event()
        self.channel_poster = channel_poster
        if channel_poster is not None:
            channel_poster.clock = lambda: self.clock()
            channel_poster.lease = lease
        self._inflight: set[asyncio.Future] = set()
        # Writing what came back: first a receipt (Microsoft accepted), then the full outcome.
        self._receipts = leases.GroupCommit(self._note_answered, size=500, parallel=3,
                                            patience=lease.total_seconds() / 2)
        self._outcomes = leases.GroupCommit(self._settle_all, size=SETTLE_GROUP,
                                            patience=lease.total_seconds() / 2)
        self.name = leases.holder_name("worker")
        self.lease = lease
        self.claim_token: str | None = None  # the claim of the round under way

    # Claiming ----------------------------------------------------------------------------
    def claim(self) -> list[int]:
        self.claim_token = f"{self.name}:{uuid.uuid4().hex[:8]}"
        self.interrupted = set()
        return leases.claim_due(
            self.engine, Delivery, token=self.claim_token, now=self.clock(),
            limit=self.batch_size, lease=self.lease,
            where=[Delivery.channel.in_(list(self.channels))],
            order_by=[Delivery.next_attempt_at, Delivery.id], held_before=self.interrupted)

    def renew_lease(self) -> int:
        """Hold on to the rows of the round under way a lease longer."""
        if self.claim_token is None:
            return 0
        return leases.renew(self.engine, Delivery, token=self.claim_token, now=self.clock(),
                            lease=self.lease)

    async def _keep_lease(self) -> None:
        """Renew the lease every third of it while the round works (until cancelled)."""
        while True:
            await asyncio.sleep(max(self.lease.total_seconds() / 3, 0.05))
            try:
                await asyncio.to_thread(self.renew_lease)
            except Exception:  # the next renewal (or the lease's end) decides
                log.warning("could not renew the delivery lease", exc_info=True)

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
                                   if d.person_id in earlier.get(alert_id, {})},
                    incident_id=chunk[0].incident_id,
                    interrupted=any(d.id in self.interrupted for d in chunk),
                    queued_at=min(d.created_at for d in chunk),
                    attempts={d.id: d.attempts for d in chunk}))
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
        """Read an interrupted call back first (Graph, outside the channel's limits), then wait
        for room under the limits (cancellable), then call and settle (shielded: a worker that
        is stopped finishes the calls already made and writes their outcome)."""
        single = job.delivery_ids[0] if len(job.delivery_ids) == 1 else None
        limits = self.limits.get(job.channel)
        settled = 0
        if job.interrupted:
            started_jobs.add(id(job))  # never handed back unasked: it stays interrupted
            with log_context.scope(incident_id=job.incident_id, alert_id=job.alert_id,
                                   delivery_id=single):
                settled, rest = await self._read_back(job, limits)
            if rest is None:
                return settled
            job = rest
        slot = limits.requests(self._requests_needed(job)) if limits else contextlib.nullcontext()
        async with slot as taken:
            started_jobs.add(id(job))
            with log_context.scope(incident_id=job.incident_id, alert_id=job.alert_id,
                                   delivery_id=single):  # the call's log lines
                inner = asyncio.ensure_future(self._call_and_settle(
                    job, limits, getattr(taken, "done", None)))
            self._inflight.add(inner)
            inner.add_done_callback(self._inflight.discard)
            return settled + await asyncio.shield(inner)

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
        await self._write_outcome(job, result, duration, limits)
        return len(job.delivery_ids)

    async def _write_outcome(self, job: Job, result: DeliveryResult, duration: float,
                             limits: ChannelLimits | None) -> None:
        if result.ok:  # at once: a row Microsoft accepted must not be sent again after a crash
            await self._receipts.write((job, result))
        await self._outcomes.write((job, result, duration))
        if result.ok and job.earlier_cards:
            await self._replace_earlier_cards(job, limits)

    async def _read_back(self, job: Job, limits: ChannelLimits | None) -> tuple[int, Job | None]:
        """For an interrupted call: write down as sent what Microsoft shows had arrived; return
        how many rows that settled and the part still to send (None: nothing to send now).
        Neither channel takes an idempotency key; this keeps a crash, or an answer lost on the
        way back, from alerting anyone twice. Rows not found whose attempts are used up fail
        here instead of being sent again. If Microsoft cannot say, nothing is sent: the rows
        wait a backoff, still marked unanswered, and are asked about again."""
        reader = self.read_back.get(job.channel)
        if reader is None:
            return 0, job
        try:
            found = await reader.delivered(job.alert_id, job.recipients,
                                           job.queued_at or self.clock())
        except ReadBackFailed as error:
            self.read_back_seen(job.channel, "ubesvaret")
            log.warning("could not read back an interrupted delivery via %s: %s", job.channel,
                        error)
            await asyncio.to_thread(self._read_back_later, job)
            return 0, None
        if len(found) < len(job.recipients):
            self.read_back_seen(job.channel, "ikke_fundet")
        if not found:
            return await self._give_up_spent(job, limits)
        self.read_back_seen(job.channel, "fundet")
        log.info("an interrupted delivery via %s had arrived for %d of %d recipients", job.channel,
                 len(found), len(job.recipients))
        parts: dict[str | None, list[tuple[int, Recipient]]] = defaultdict(list)
        rest: list[tuple[int, Recipient]] = []
        for delivery_id, recipient in zip(job.delivery_ids, job.recipients):
            if recipient.person_id in found:
                parts[found[recipient.person_id]].append((delivery_id, recipient))
            else:
                rest.append((delivery_id, recipient))
        for provider_id, pairs in parts.items():
            await self._write_outcome(job.part(pairs), DeliveryResult(
                ok=True, status_code=200, provider_message_id=provider_id,
                conversation_id=pairs[0][1].conversation_id if job.channel == "teams" else None,
                error=FOUND_AGAIN.get(job.channel)), 0.0, limits)
        if not rest:
            return len(found), None
        settled, left = await self._give_up_spent(job.part(rest), limits)
        return len(found) + settled, left

    async def _give_up_spent(self, job: Job, limits: ChannelLimits | None) -> tuple[int, Job | None]:
        """Of rows the read-back did not find, fail those whose attempts are used up (their
        last call was unanswered); return how many that settled and the part still to send."""
        pairs = list(zip(job.delivery_ids, job.recipients))
        spent = [(i, r) for i, r in pairs if job.attempts.get(i, 0) >= self.max_attempts]
        if not spent:
            return 0, job
        await self._write_outcome(job.part(spent), DeliveryResult(
            ok=False, transient=False, error=NOT_FOUND_SPENT), 0.0, limits)
        rest = [(i, r) for i, r in pairs if job.attempts.get(i, 0) < self.max_attempts]
        return len(spent), (job.part(rest) if rest else None)

    def _read_back_later(self, job: Job) -> None:
        """Microsoft could not say whether an unanswered call arrived: let go of the rows for a
        backoff, still marked unanswered, so they are read back (not sent) when next claimed."""
        wait = backoff(max(job.attempts.values(), default=0), self.rng, self.backoff_base)
        table = Delivery.__table__
        with self.engine.begin() as connection:
            connection.execute(
                update(table).where(table.c.id.in_(job.delivery_ids), table.c.state == QUEUED,
                                    table.c.claimed_by == self.claim_token)
                .values(claimed_by=leases.UNANSWERED + self.name, claimed_until=None,
                        next_attempt_at=self.clock() + timedelta(seconds=wait)))

    def release(self, delivery_ids: list[int]) -> None:
        """Give back claimed rows that were never tried, so another worker takes them at once."""
        leases.release(self.engine, Delivery, delivery_ids)

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

    # Writing the outcomes -------------------------------------------------------------------
    def _note_answered(self, answered: list[tuple[Job, DeliveryResult]]) -> None:
        """The receipt: these rows were accepted by Microsoft (one quick UPDATE, no lock of the
        incident), with what Microsoft answered. The full outcome follows in ``_settle_all``."""
        table = Delivery.__table__
        rows = [{"row_id": delivery_id, "marker": leases.ANSWERED + self.name,
                 "message_id": result.provider_message_id, "conversation": result.conversation_id}
                for job, result in answered for delivery_id in job.delivery_ids]
        with self.engine.begin() as connection:
            connection.execute(
                update(table).where(table.c.id == bindparam("row_id"), table.c.state == QUEUED)
                .values(claimed_by=bindparam("marker"), provider_message_id=bindparam("message_id"),
                        conversation_id=bindparam("conversation")), rows)

    def settle_answered(self) -> int:
        """Write down as sent the rows Microsoft accepted whose worker died before it wrote the
        outcome (a receipt whose lease has run out): they are not sent again."""
        now = self.clock()
        orphaned = (Delivery.state == QUEUED, Delivery.claimed_by.startswith(leases.ANSWERED),
                    Delivery.claimed_until < now)
        with transaction(self.engine) as session:
            incident_ids = sorted(set(session.exec(select(Delivery.incident_id).where(*orphaned))))
            if not incident_ids:
                return 0
            for incident_id in incident_ids:  # the incident first, as every writer does
                lock_incident(session, incident_id)
            rows = list(session.exec(select(Delivery).where(*orphaned).with_for_update()))
            names = {p.id: p.name for p in session.exec(
                select(Person).where(Person.id.in_({d.person_id for d in rows})))}
            conversations = {c.person_id: c for c in session.exec(select(TeamsConversation).where(
                TeamsConversation.person_id.in_({d.person_id for d in rows})))}
            entries: dict[int, list[dict]] = defaultdict(list)
            for delivery in rows:
                delivery.attempts += 1
                delivery.claimed_by = delivery.claimed_until = None
                result = DeliveryResult(ok=True, provider_message_id=delivery.provider_message_id,
                                        conversation_id=delivery.conversation_id,
                                        error="skrevet ned efter en genstart: Microsoft havde "
                                              "taget imod kaldet")
                self._apply(delivery, result, now)
                session.add(delivery)
                session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, outcome="sendt",
                                            error=result.error, duration_ms=0))
                if delivery.channel == "teams" and delivery.conversation_id:
                    self._keep_conversation(session, conversations, delivery.person_id,
                                            delivery.conversation_id, now)
                recipient = Recipient(person_id=delivery.person_id,
                                      name=names.get(delivery.person_id, delivery.person_id))
                entry = self._record(delivery, recipient, "sendt", result, now)
                entry["summary"] += " (skrevet ned efter en genstart af tjenesten)"
                entry["data"]["after_restart"] = True
                entries[delivery.incident_id].append(entry)
            for incident_id, items in sorted(entries.items()):
                record.append_many(session, incident_id, items)
            log.warning("%d deliveries accepted by Microsoft before a worker died were written "
                        "down as sent", len(rows))
            return len(rows)

    def _settle_all(self, outcomes: list[tuple[Job, DeliveryResult, float]]) -> None:
        now = self.clock()
        with transaction(self.engine) as session:
            for incident_id in sorted({job.incident_id for job, _, _ in outcomes}):
                lock_incident(session, incident_id)  # in one order: no deadlock
            # Read what the outcomes touch in a few statements, write them in one flush.
            ids = [i for job, _, _ in outcomes for i in job.delivery_ids]
            batch = Settling(deliveries={d.id: d for d in session.exec(
                select(Delivery).where(Delivery.id.in_(ids)))})
            people = {r.person_id for job, result, _ in outcomes if result.conversation_id
                      and job.channel == "teams" for r in job.recipients}
            if people:
                batch.conversations = {c.person_id: c for c in session.exec(
                    select(TeamsConversation).where(TeamsConversation.person_id.in_(people)))}
            for job, result, duration_ms in outcomes:
                self._settle_job(session, job, result, duration_ms, now, batch)
            for incident_id, items in sorted(batch.entries.items()):
                record.append_many(session, incident_id, items)

    def _settle_job(self, session: Session, job: Job, result: DeliveryResult, duration_ms: float,
                    now: datetime, batch: "Settling") -> None:
        incident_id = job.incident_id
        for delivery_id, recipient in zip(job.delivery_ids, job.recipients):
            delivery = batch.deliveries.get(delivery_id)
            if delivery is None or delivery.state != QUEUED:
                continue
            delivery.attempts += 1
            delivery.claimed_by = None
            delivery.claimed_until = None
            outcome = self._apply(delivery, result, now)
            log.info("delivery via %s: %s (attempt %d, status %s)", job.channel, outcome,
                     delivery.attempts, result.status_code, extra={
                         "incident_id": incident_id, "alert_id": job.alert_id,
                         "delivery_id": delivery.id})
            session.add(DeliveryAttempt(
                delivery_id=delivery.id, at=now, outcome=outcome,
                status_code=result.status_code, error=result.error,
                retry_after=result.retry_after, duration_ms=int(duration_ms)))
            if result.conversation_id and job.channel == "teams":
                self._keep_conversation(session, batch.conversations, recipient.person_id,
                                        result.conversation_id, now)
            batch.entries[incident_id].append(self._record(delivery, recipient, outcome, result,
                                                           now))
            session.add(delivery)
            if outcome == "permanent":
                self._second_route(session, delivery, recipient, now, batch.entries[incident_id])
                if result.writes_blocked:
                    self._next_channel(session, delivery, recipient, now,
                                       batch.entries[incident_id])

    def _apply(self, delivery: Delivery, result: DeliveryResult, now: datetime) -> str:
        if result.ok:
            delivery.state, delivery.sent_at, delivery.last_error = SENT, now, None
            delivery.provider_message_id = result.provider_message_id
            delivery.conversation_id = result.conversation_id
            return "sendt"
        delivery.last_error = result.error
        if result.unknown:  # it may have arrived: read back (not sent) when next claimed
            delivery.claimed_by = leases.UNANSWERED + self.name
            delivery.next_attempt_at = now + timedelta(seconds=max(self.unanswered_wait, backoff(
                delivery.attempts, self.rng, self.backoff_base)))
            return UNANSWERED_OUTCOME
        if result.transient and delivery.attempts < self.max_attempts:
            wait = result.retry_after if result.throttled and result.retry_after else backoff(
                delivery.attempts, self.rng, self.backoff_base)
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            return "begrænset" if result.throttled else "midlertidig"
        delivery.state = FAILED
        return "permanent"

    def _second_route(self, session: Session, delivery: Delivery, recipient: Recipient,
                      now: datetime, entries: list[dict]) -> None:
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
        entries.append(dict(
            actor_id=record.SYSTEM, action="varsel.anden_rute", at=now,
            summary=f"E-mail til {recipient.name} sendes igen via SMTP (anden postrute)",
            data={"delivery_id": delivery.id, "alert_id": delivery.alert_id}))

    def _next_channel(self, session: Session, delivery: Delivery, recipient: Recipient,
                      now: datetime, entries: list[dict]) -> None:
        """Teams refuses the bot's messages to the person (blocked or removed): e-mail them at
        once, instead of waiting for the escalation's next-channel step."""
        if delivery.channel != "teams" or not recipient.email or "email" not in self.channels:
            return
        exists = session.exec(select(Delivery.id).where(
            Delivery.alert_id == delivery.alert_id, Delivery.person_id == delivery.person_id,
            Delivery.channel == "email")).first()
        if exists is not None:
            return
        session.add(Delivery(alert_id=delivery.alert_id, incident_id=delivery.incident_id,
                             person_id=delivery.person_id, channel="email", state=QUEUED,
                             next_attempt_at=now, created_at=now,
                             escalation_level=delivery.escalation_level,
                             on_behalf_of=delivery.on_behalf_of))
        entries.append(dict(
            actor_id=record.SYSTEM, action="varsel.naeste_kanal", at=now,
            summary=(f"{recipient.name} har blokeret eller fjernet botten i Teams: "
                     "varslet sendes med e-mail med det samme"),
            data={"delivery_id": delivery.id, "alert_id": delivery.alert_id,
                  "person_id": delivery.person_id}))

    @staticmethod
    def _keep_conversation(session: Session, known: dict[str, TeamsConversation], person_id: str,
                           conversation_id: str, now: datetime) -> None:
        existing = known.get(person_id)
        if existing is None or existing.conversation_id != conversation_id:
            keep_conversation(session, person_id, conversation_id, "", now)
            known[person_id] = TeamsConversation(person_id=person_id,
                                                 conversation_id=conversation_id,
                                                 service_url="", created_at=now)

    @staticmethod
    def _record(delivery: Delivery, recipient: Recipient, outcome: str, result: DeliveryResult,
                now: datetime) -> dict:
        """The record entry for an outcome (written with the others by ``record.append_many``)."""
        channel = CHANNEL_NAMES.get(delivery.channel, delivery.channel)
        if outcome == "sendt":
            action, summary = "varsel.leveret", f"Varsel leveret til {recipient.name} via {channel}"
        elif outcome == "permanent":
            action = "varsel.fejlet"
            summary = f"Varsel til {recipient.name} via {channel} fejlede: {result.error}"
        elif outcome == UNANSWERED_OUTCOME:
            action = "varsel.forsinket"
            summary = (f"Varsel til {recipient.name} via {channel}: intet svar fra Microsoft "
                       f"(forsøg {delivery.attempts}: {result.error}); det kontrolleres, om det "
                       f"nåede frem, før det sendes igen")
        else:
            action = "varsel.forsinket"
            summary = (f"Varsel til {recipient.name} via {channel} forsøges igen "
                       f"(forsøg {delivery.attempts}: {result.error})")
        return dict(actor_id=record.SYSTEM, action=action, summary=summary, at=now,
                    data={"delivery_id": delivery.id, "alert_id": delivery.alert_id,
                          "person_id": delivery.person_id, "channel": delivery.channel,
                          "attempt": delivery.attempts, "status_code": result.status_code})

    # Running ------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim what is due, send it, write the outcomes; return how many deliveries were tried.

        Stopped (cancelled) half-way, it hands back the rows it had not yet tried and waits for
        the calls already made, so a restart neither loses nor repeats them."""
        posted = await self.channel_poster.run_once() if self.channel_poster else 0
        await asyncio.to_thread(self.settle_answered)
        ids = await leases.claim_shielded(self.engine, Delivery, self.claim)
        if not ids:
            return posted
        keeper = asyncio.ensure_future(self._keep_lease())
        try:
            try:
                jobs = await asyncio.to_thread(self._jobs, ids)
            except asyncio.CancelledError:
                await asyncio.shield(asyncio.to_thread(self.release, ids))
                raise
            started_jobs: set[int] = set()
            tasks = [asyncio.ensure_future(self._process(job, started_jobs)) for job in jobs]
            try:
                return posted + sum(await asyncio.gather(*tasks))
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                untried = [i for job in jobs if id(job) not in started_jobs
                           for i in job.delivery_ids]
                await asyncio.shield(self._stop(untried))
                raise
        finally:
            keeper.cancel()

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
