"""Alerts posted into groups' Teams channels through the bot (Graph cannot post there with an
app token). One post per alert per group with a channel; a follow-up replies in the first
post's thread and redraws the first card. Worked off with the deliveries, with the same lease,
limits, retries and record."""
from __future__ import annotations

import asyncio
import logging
import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handleplaner import record
from handleplaner.clock import dansk
from handleplaner.directory.models import Group
from handleplaner.incidents import lock_incident
from handleplaner.storage import transaction

from . import lease as leases
from .channels.base import DeliveryResult
from .limits import backoff as retry_backoff
from .messages import alert_message
from .models import FAILED, QUEUED, SENT, Alert, ChannelPost

log = logging.getLogger(__name__)
LEASE = leases.LEASE


def enqueue_channel_posts(session: Session, alert: Alert, group_codes: set[str],
                          now: datetime) -> list[ChannelPost]:
    """A post for each of the groups that has a Teams channel (the caller commits)."""
    if not group_codes:
        return []
    groups = session.exec(select(Group).where(Group.code.in_(sorted(group_codes)),
                                              Group.active == True,  # noqa: E712
                                              Group.teams_channel_id.is_not(None)))
    posts = []
    for group in groups:
        post = ChannelPost(alert_id=alert.id, incident_id=alert.incident_id,
                           group_code=group.code, channel_id=group.teams_channel_id,
                           state=QUEUED, next_attempt_at=now, created_at=now)
        session.add(post)
        posts.append(post)
    session.flush()
    return posts


def parent_groups(session: Session, alert: Alert) -> set[str]:
    """The groups whose channels got the alert a follow-up follows."""
    if alert.parent_alert_id is None:
        return set()
    return set(session.exec(select(ChannelPost.group_code).where(
        ChannelPost.alert_id == alert.parent_alert_id)))


def incident_channel_groups(session: Session, incident_id: int) -> set[str]:
    """Every group whose channel got an alert about the incident."""
    return set(session.exec(select(ChannelPost.group_code).where(
        ChannelPost.incident_id == incident_id)))


class ChannelPoster:
    """The part of the delivery worker that posts into channels."""

    def __init__(self, engine: Engine, poster, *, link_base: str, limits=None,
                 max_attempts: int = 6, backoff=None, clock=None) -> None:
        self.engine, self.poster, self.link_base = engine, poster, link_base.rstrip("/")
        self.limits, self.max_attempts = limits, max_attempts
        rng = random.Random()
        self.backoff = backoff or (lambda attempts: retry_backoff(attempts, rng))
        self.clock = clock
        self.name = leases.holder_name("kanal")
        self.lease = LEASE

    def claim(self, now: datetime) -> list[int]:
        return leases.claim_due(self.engine, ChannelPost, now=now, limit=100, lease=self.lease,
                                token=f"{self.name}:{uuid.uuid4().hex[:8]}")

    def _plan(self, post_id: int):
        with Session(self.engine) as session:
            post = session.get(ChannelPost, post_id)
            alert = session.get(Alert, post.alert_id)
            message = alert_message(session, alert, self.link_base)
            earlier = None
            if alert.parent_alert_id is not None:
                # The thread to reply in: the alert followed, else the newest about the incident.
                earlier = session.exec(select(ChannelPost).where(
                    ChannelPost.alert_id == alert.parent_alert_id,
                    ChannelPost.group_code == post.group_code)).first()
                newest = session.exec(select(ChannelPost).where(
                    ChannelPost.incident_id == post.incident_id, ChannelPost.id < post.id,
                    ChannelPost.group_code == post.group_code, ChannelPost.state != FAILED)
                    .order_by(ChannelPost.id.desc())).first()
                earlier = earlier if earlier is not None and earlier.state != FAILED else newest
                if earlier is not None and earlier.state == QUEUED:
                    return post, None, earlier, None  # wait: the thread does not exist yet
            redraw = None
            if earlier is not None:
                parent = session.get(Alert, earlier.alert_id)
                notice = (f"Beredskabet er afsluttet (normaldrift) {dansk(alert.created_at)}."
                          if alert.kind == "normaldrift"
                          else f"Opdateret {dansk(alert.created_at)}: se svaret i tråden.")
                redraw = alert_message(session, parent, self.link_base, notice=notice)
            return post, message, earlier, redraw

    def _defer(self, post_id: int) -> None:
        with transaction(self.engine) as session:
            post = session.get(ChannelPost, post_id)
            post.claimed_by = post.claimed_until = None
            post.next_attempt_at = self.clock() + timedelta(seconds=1)
            session.add(post)

    async def send(self, post_id: int, calling: set[int] | None = None) -> None:
        post, message, earlier, redraw = await asyncio.to_thread(self._plan, post_id)
        if message is None:
            await asyncio.to_thread(self._defer, post_id)
            return
        limit = self.limits.requests(1) if self.limits else None
        try:
            if limit:
                async with limit:
                    if calling is not None:
                        calling.add(post_id)
                    result = await self._call(post, message, earlier)
            else:
                if calling is not None:
                    calling.add(post_id)
                result = await self._call(post, message, earlier)
        except Exception as error:  # a bug must not stop the worker
            log.exception("channel post failed")
            result = DeliveryResult(ok=False, error=f"intern fejl: {error!r}"[:500], transient=True)
        if result.throttled and self.limits:
            self.limits.pause(result.retry_after or 1.0)
        await leases.settle_surely(lambda: self._settle(post.id, result),
                                   patience=self.lease.total_seconds() / 2)
        if result.ok and redraw is not None:
            try:
                await self.poster.update(redraw, earlier.conversation_id, earlier.activity_id)
            except Exception:
                log.warning("could not redraw the earlier channel card", exc_info=True)

    async def _call(self, post, message, earlier) -> DeliveryResult:
        if earlier is not None and earlier.conversation_id:
            return await self.poster.reply(message, earlier.conversation_id)
        return await self.poster.post(message, post.channel_id)

    def _settle(self, post_id: int, result: DeliveryResult) -> None:
        now = self.clock()
        with transaction(self.engine) as session:
            post = session.get(ChannelPost, post_id)
            if post is None or post.state != QUEUED:
                return
            lock_incident(session, post.incident_id)
            post.attempts += 1
            post.claimed_by = post.claimed_until = None
            group = session.get(Group, post.group_code)
            if result.ok:
                post.state, post.sent_at, post.last_error = SENT, now, None
                post.conversation_id = result.conversation_id
                post.activity_id = result.provider_message_id
                action, summary = "varsel.kanal_postet", f"Varsel postet i Teams-kanalen for {group.name}"
            elif result.transient and post.attempts < self.max_attempts:
                wait = result.retry_after if result.throttled and result.retry_after else self.backoff(
                    post.attempts)
                post.next_attempt_at = now + timedelta(seconds=wait)
                post.last_error = result.error
                action = "varsel.forsinket"
                summary = (f"Post i Teams-kanalen for {group.name} forsøges igen "
                           f"(forsøg {post.attempts}: {result.error})")
            else:
                post.state, post.last_error = FAILED, result.error
                action = "varsel.fejlet"
                summary = f"Post i Teams-kanalen for {group.name} fejlede: {result.error}"
            session.add(post)
            record.append(session, incident_id=post.incident_id, actor_id=record.SYSTEM,
                          action=action, summary=summary, at=now,
                          data={"channel_post_id": post.id, "alert_id": post.alert_id,
                                "group": post.group_code, "attempt": post.attempts,
                                "status_code": result.status_code})

    async def run_once(self) -> int:
        """Claim the posts that are due and send them. Stopped (cancelled) half-way, as the
        delivery worker: the calls already made finish and write their outcome, and the posts
        not yet tried are handed back, so a restart neither loses nor repeats them."""
        ids = await leases.claim_shielded(self.engine, ChannelPost,
                                          lambda: self.claim(self.clock()))
        calling: set[int] = set()
        sends = {i: asyncio.ensure_future(self.send(i, calling)) for i in ids}
        try:
            outcomes = await asyncio.shield(asyncio.gather(*sends.values(),
                                                           return_exceptions=True))
        except asyncio.CancelledError:
            untried = [i for i in ids if i not in calling]
            for i in untried:
                sends[i].cancel()
            await asyncio.shield(self._stop([sends[i] for i in ids if i in calling], untried))
            raise
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome
        return len(ids)

    async def _stop(self, calls: list[asyncio.Future], untried: list[int]) -> None:
        await asyncio.gather(*calls, return_exceptions=True)
        await asyncio.to_thread(leases.release, self.engine, ChannelPost, untried)

    def pending(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(ChannelPost)
                                .where(ChannelPost.state == QUEUED)).one()
