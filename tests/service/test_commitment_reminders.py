"""Reminders in a persistent APScheduler job store: stopped and restarted, due reminders fire
once and none is lost; a fired job that fires again changes nothing; quiet hours hold them."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import Session, select

from handleplaner.clock import utcnow
from handleplaner.commitments.models import Commitment
from notifications import commitment_reminders as reminders
from notifications.models import Alert

from .test_commitments import sent_plan


def scheduler(path) -> AsyncIOScheduler:
    return AsyncIOScheduler(timezone="UTC", jobstores={
        reminders.JOBSTORE: SQLAlchemyJobStore(url=f"sqlite:///{path}")})


def reminder_alerts(engine, step: int) -> list[Alert]:
    with Session(engine) as session:
        return [a for a in session.exec(select(Alert).where(Alert.kind == "besked"))
                if f":trin:{step}" in a.dedupe_key]


@pytest.fixture
def context(service):
    reminders.CONTEXT = reminders.Context(
        engine=service.engine, link_base=service.base, remind_after=timedelta(seconds=1),
        escalate_after=timedelta(hours=1), quiet=(0, 0))
    yield reminders.CONTEXT
    reminders.CONTEXT = None


async def test_reminders_survive_a_restart_and_fire_once(service, context, tmp_path):
    await sent_plan(service)
    with Session(service.engine) as session:
        waiting = [c.id for c in session.exec(select(Commitment).where(
            Commitment.state == "afventer", Commitment.responsible_id.is_not(None)))]
    assert waiting
    jobs = tmp_path / "jobs.db"
    first = scheduler(jobs)
    context.scheduler = first
    first.start()
    reminders.plan_reminders(waiting)
    first.shutdown(wait=False)  # the service stops before any reminder is due
    await asyncio.sleep(1.5)
    assert reminder_alerts(service.engine, 1) == []

    second = scheduler(jobs)  # the service starts again
    context.scheduler = second
    second.start()
    for _ in range(50):
        await asyncio.sleep(0.1)
        if len(reminder_alerts(service.engine, 1)) == len(waiting):
            break
    assert len(reminder_alerts(service.engine, 1)) == len(waiting)  # none lost
    next_steps = {job.id for job in second.get_jobs(jobstore=reminders.JOBSTORE)
                  if job.id.startswith("opgave-")}
    assert next_steps == {reminders.job_id(i, 2) for i in waiting}
    overdue_checks = {job.id for job in second.get_jobs(jobstore=reminders.JOBSTORE)
                      if job.id.startswith("forfald-")}
    assert overdue_checks == {f"forfald-{i}" for i in waiting}
    second.shutdown(wait=False)

    third = scheduler(jobs)
    context.scheduler = third
    third.start()
    await asyncio.sleep(0.5)
    reminders.fire(waiting[0], 1)  # a job that fires again
    third.shutdown(wait=False)
    assert len(reminder_alerts(service.engine, 1)) == len(waiting)  # never twice
    with Session(service.engine) as session:
        assert {session.get(Commitment, i).reminder_step for i in waiting} == {1}


async def test_confirmed_commitments_are_not_reminded_and_quiet_hours_hold(service, context,
                                                                           tmp_path):
    await sent_plan(service)
    with Session(service.engine) as session:
        c = session.exec(select(Commitment).where(Commitment.state == "afventer",
                                                  Commitment.responsible_id.is_not(None))).first()
        c.state = "bekraeftet"
        session.add(c)
        session.commit()
        confirmed_id = c.id
        other_id = session.exec(select(Commitment.id).where(
            Commitment.state == "afventer", Commitment.responsible_id.is_not(None))).first()
    held = scheduler(tmp_path / "jobs.db")
    context.scheduler = held
    held.start()
    reminders.fire(confirmed_id, 1)
    assert reminder_alerts(service.engine, 1) == []
    hour = utcnow().astimezone(reminders.COPENHAGEN).hour
    context.quiet = (hour, (hour + 2) % 24)  # now is quiet time
    reminders.fire(other_id, 1)
    assert reminder_alerts(service.engine, 1) == []
    (job,) = [j for j in held.get_jobs(jobstore=reminders.JOBSTORE) if j.id.startswith("opgave-")]
    assert job.id == reminders.job_id(other_id, 1)
    assert job.next_run_time.astimezone(reminders.COPENHAGEN).hour == (hour + 2) % 24
    held.shutdown(wait=False)


async def test_an_overdue_measure_is_raised_with_the_leader_and_deputy_once(service, context,
                                                                            tmp_path):
    await sent_plan(service)
    with Session(service.engine) as session:
        c = session.exec(select(Commitment).where(Commitment.responsible_id.is_not(None))).first()
        commitment_id, ends_at = c.id, c.ends_at
    held = scheduler(tmp_path / "jobs.db")
    context.scheduler = held
    held.start()
    reminders.fire_overdue(commitment_id)  # not yet due: nothing
    with Session(service.engine) as session:
        assert not [a for a in session.exec(select(Alert)) if "forfalden" in a.dedupe_key]
    context.clock = lambda: ends_at + timedelta(minutes=1)
    reminders.fire_overdue(commitment_id)
    reminders.fire_overdue(commitment_id)  # fired again: still one
    held.shutdown(wait=False)
    with Session(service.engine) as session:
        raised = [a for a in session.exec(select(Alert)) if "forfalden" in a.dedupe_key]
    assert len(raised) == 1 and "skulle være udført" in raised[0].body
