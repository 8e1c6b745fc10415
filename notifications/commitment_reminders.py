"""Reminders and escalation for commitments, as APScheduler jobs in a persistent job store.

Each unconfirmed commitment gets a date job (``opgave-{id}-{step}``); when it fires and the
commitment is still not confirmed, step 1 reminds the leader, step 2 the deputy, step 3 the
ledergruppe and the SSP Sekretariat, and the next step is scheduled. The jobs live in the
database (SQLAlchemyJobStore) so they survive a restart; the step reached is stored on the
commitment, so a job that fires again changes nothing (never twice). Quiet hours hold the first
reminder until morning, but never an escalation of an Akut incident.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from handleplaner.clock import COPENHAGEN, dansk, utcnow
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.incidents import get_incident, lock_incident
from handleplaner.storage import transaction

from .outbox import enqueue_alert

log = logging.getLogger(__name__)
JOBSTORE = "opgaver"
WAITING = ("afventer", "videregivet")
STEP_TEXT = {1: "påmindelse", 2: "sendt til suppleanten", 3: "sendt til ledergruppen og sekretariatet"}


@dataclass
class Context:
    engine: Engine
    link_base: str
    remind_after: timedelta
    escalate_after: timedelta
    quiet: tuple[int, int]
    scheduler: object = None
    wake: object = None  # callable, thread-safe
    clock: object = utcnow


CONTEXT: Context | None = None  # set by the service at start-up; jobs reach it through here


def job_id(commitment_id: int, step: int) -> str:
    return f"opgave-{commitment_id}-{step}"


def schedule(commitment_id: int, step: int, run_at: datetime) -> None:
    CONTEXT.scheduler.add_job(fire, "date", run_date=run_at, args=[commitment_id, step],
                              id=job_id(commitment_id, step), jobstore=JOBSTORE,
                              replace_existing=True, misfire_grace_time=None, coalesce=True)


def in_quiet_hours(moment: datetime, quiet: tuple[int, int]) -> datetime | None:
    """The end of the quiet hours if ``moment`` falls in them, else None."""
    local = moment.astimezone(COPENHAGEN)
    start, end = quiet
    hour = local.hour
    quiet_now = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet_now:
        return None
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning


def fire(commitment_id: int, step: int) -> None:
    """The job: take ``step`` for the commitment if it is still due; schedule the next."""
    ctx = CONTEXT
    now = ctx.clock()
    with transaction(ctx.engine) as session:
        c = session.get(Commitment, commitment_id)
        if c is None:
            return
        lock_incident(session, c.incident_id)  # jobs run in parallel; the record stays in order
        session.refresh(c)
        if c.state not in WAITING or c.reminder_step >= step:
            return  # confirmed meanwhile, or this step was already taken
        incident = get_incident(session, c.incident_id)
        if step == 1 or incident.severity != "akut":
            morning = in_quiet_hours(now, ctx.quiet)
            if morning is not None and step == 1:
                schedule(commitment_id, step, morning)
                return
        leader = directory.get_person(session, c.responsible_id) if c.responsible_id else None
        if step == 1:
            audience = [leader] if leader else []
        elif step == 2:
            deputy = directory.deputy_of(session, c.responsible_id) if c.responsible_id else None
            audience = [deputy] if deputy else []
        else:
            groups = [g for g in directory.groups_of(session, c.responsible_id)
                      if g.kind == "ledergruppe"] if c.responsible_id else []
            audience = {p.id: p for g in groups for p, role in directory.memberships(session, g.code)
                        if role in ("formand", "sekretær")}
            audience.update({p.id: p for p in directory.secretariat_members(session)})
            audience = list(audience.values())
        c.reminder_step = step
        session.add(c)
        if audience:
            enqueue_alert(
                session, incident_id=c.incident_id, kind="besked", severity=incident.severity,
                exercise=incident.exercise, title=f"Opgave ikke bekræftet: {c.title}",
                body=(f"Opgaven '{c.title}' ({c.authority_code}, {dansk(c.starts_at)} – "
                      f"{dansk(c.ends_at)}) er ikke bekræftet af {leader.name if leader else 'nogen'}"
                      f" ({STEP_TEXT[step]}). Bekræft, afvis eller videregiv: "
                      f"{ctx.link_base.rstrip('/')}/haendelser/{c.incident_id}/plan"),
                audience=audience, actor_id="system", dedupe_key=f"opgave:{c.id}:trin:{step}",
                now=now, all_channels=incident.severity == "akut")
    if step < 3:
        schedule(commitment_id, step + 1, now + ctx.escalate_after)
    if ctx.wake:
        ctx.wake()


def plan_reminders(commitment_ids: list[int], now: datetime | None = None) -> None:
    """Schedule the first reminder for commitments that now await confirmation, and the
    overdue check at the end of each one's time window."""
    if CONTEXT is None or CONTEXT.scheduler is None:
        return
    moment = now or CONTEXT.clock()
    with transaction(CONTEXT.engine) as session:
        ends = {c.id: c.ends_at for c in session.exec(
            select(Commitment).where(Commitment.id.in_(commitment_ids)))}
    for commitment_id in commitment_ids:
        schedule(commitment_id, 1, moment + CONTEXT.remind_after)
        if commitment_id in ends:
            CONTEXT.scheduler.add_job(fire_overdue, "date", run_date=max(ends[commitment_id], moment),
                                      args=[commitment_id], id=f"forfald-{commitment_id}",
                                      jobstore=JOBSTORE, replace_existing=True,
                                      misfire_grace_time=None, coalesce=True)


def fire_overdue(commitment_id: int) -> None:
    """The measure's time window has ended and it is not done: tell the leader and the deputy
    (once; an Akut incident is never held by quiet hours)."""
    ctx = CONTEXT
    now = ctx.clock()
    with transaction(ctx.engine) as session:
        c = session.get(Commitment, commitment_id)
        if c is None:
            return
        lock_incident(session, c.incident_id)
        session.refresh(c)
        if c.state in ("udfoert", "udgaaet", "afvist") or c.ends_at > now:
            return
        incident = get_incident(session, c.incident_id)
        if incident.severity != "akut" and (morning := in_quiet_hours(now, ctx.quiet)):
            ctx.scheduler.add_job(fire_overdue, "date", run_date=morning, args=[commitment_id],
                                  id=f"forfald-{commitment_id}", jobstore=JOBSTORE,
                                  replace_existing=True, misfire_grace_time=None)
            return
        people = [p for p in (directory.get_person(session, c.responsible_id) if c.responsible_id else None,
                              directory.deputy_of(session, c.responsible_id) if c.responsible_id else None)
                  if p is not None]
        if people:
            enqueue_alert(
                session, incident_id=c.incident_id, kind="besked", severity=incident.severity,
                exercise=incident.exercise, title=f"Opgave forfalden: {c.title}",
                body=(f"Opgaven '{c.title}' ({c.authority_code}) skulle være udført "
                      f"{dansk(c.ends_at)} og er '{c.state}'. Meld status: "
                      f"{ctx.link_base.rstrip('/')}/haendelser/{c.incident_id}/opgaver"),
                audience=people, actor_id="system", dedupe_key=f"opgave:{c.id}:forfalden",
                now=now, all_channels=incident.severity == "akut")
    if ctx.wake:
        ctx.wake()


def plan_reminders_after_commit(session, commitment_ids: list[int]) -> None:
    """Schedule the reminders once the caller's transaction has committed: the job store is
    another connection, and the commitments must exist before a job can find them."""
    from sqlalchemy import event

    if CONTEXT is None or CONTEXT.scheduler is None or not commitment_ids:
        return
    event.listen(session, "after_commit", lambda _s: plan_reminders(commitment_ids), once=True)


def snooze(commitment_id: int, person_id: str) -> bool:
    """Once per commitment: push the next reminder back by the reminder time."""
    ctx = CONTEXT
    with transaction(ctx.engine) as session:
        c = session.get(Commitment, commitment_id)
        if c is None or c.snoozed or c.responsible_id != person_id:
            return False
        c.snoozed = True
        session.add(c)
        step = c.reminder_step + 1
    if step <= 3:
        schedule(commitment_id, step, ctx.clock() + ctx.remind_after)
    return True


def make_wake(loop: asyncio.AbstractEventLoop, event: asyncio.Event):
    return lambda: loop.call_soon_threadsafe(event.set)
