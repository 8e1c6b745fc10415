"""The delivery worker's promises: accepted alerts are delivered even after a crash, 429 waits
the Retry-After, transient faults back off and are retried, permanent faults and exhausted
attempts fail with a reason, every attempt is written down, and no row is sent twice at once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from handleplaner import record
from handleplaner.directory import queries as directory
from handleplaner.storage import transaction
from notifications.channels.base import DeliveryResult
from notifications.models import FAILED, QUEUED, SENT, Delivery, DeliveryAttempt
from notifications.worker import DeliveryWorker

from tests.service.helpers import noerrebro, secretariat_member, shooting
from bot.activation import activate_beredskab


class ScriptedChannel:
    """A channel whose answers the test decides, one per call; it remembers every call."""

    def __init__(self, name: str, answers: list[DeliveryResult], max_batch: int = 1):
        self.name, self.max_batch = name, max_batch
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    async def send(self, message, recipients):
        self.calls.append([r.person_id for r in recipients])
        return self.answers.pop(0) if self.answers else DeliveryResult(ok=True, status_code=201)


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


def accept_alert(engine, now) -> int:
    person = secretariat_member(engine)
    activated = activate_beredskab(engine, actor_id=person.id, now=now,
                                   data=shooting(noerrebro(engine), occurred_at=now.isoformat()))
    return activated.incident.id


def one_person_only(engine, incident_id) -> Delivery:
    """Keep one teams delivery queued (the others marked sent) to follow it closely."""
    with transaction(engine) as session:
        rows = list(session.exec(select(Delivery).where(Delivery.incident_id == incident_id)
                                 .order_by(Delivery.id)))
        keep = next(d for d in rows if d.channel == "teams")
        for row in rows:
            if row.id != keep.id:
                row.state = SENT
                session.add(row)
        return keep


def worker(engine, channel, clock, **kwargs) -> DeliveryWorker:
    return DeliveryWorker(engine, {channel.name: channel}, limits={}, link_base="http://x",
                          clock=clock, seed=1, **kwargs)


def delivery(engine, delivery_id) -> Delivery:
    with Session(engine) as session:
        return session.get(Delivery, delivery_id)


async def test_throttled_delivery_waits_the_retry_after_then_succeeds(engine):
    clock = Clock()
    incident_id = accept_alert(engine, clock.now)
    kept = one_person_only(engine, incident_id)
    channel = ScriptedChannel("teams", [DeliveryResult(ok=False, status_code=429, retry_after=7,
                                                       transient=True, error="429 Too Many Requests")])
    w = worker(engine, channel, clock)
    assert await w.run_once() == 1
    row = delivery(engine, kept.id)
    assert row.state == QUEUED and row.attempts == 1
    assert row.next_attempt_at == clock.now + timedelta(seconds=7)
    assert await w.run_once() == 0  # not due yet
    clock.now += timedelta(seconds=7)
    assert await w.run_once() == 1
    row = delivery(engine, kept.id)
    assert row.state == SENT and row.attempts == 2
    with Session(engine) as session:
        outcomes = [a.outcome for a in session.exec(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == kept.id)
            .order_by(DeliveryAttempt.id))]
        assert outcomes == ["begrænset", "sendt"]
        actions = [e.action for e in record.entries(session, incident_id)]
        assert actions[-2:] == ["varsel.forsinket", "varsel.leveret"]


async def test_transient_faults_back_off_and_fail_after_the_last_attempt(engine):
    clock = Clock()
    incident_id = accept_alert(engine, clock.now)
    kept = one_person_only(engine, incident_id)
    fault = DeliveryResult(ok=False, status_code=503, transient=True, error="503 Service Unavailable")
    channel = ScriptedChannel("teams", [fault] * 3)
    w = worker(engine, channel, clock, max_attempts=3)
    waits = []
    for _ in range(3):
        assert await w.run_once() == 1
        row = delivery(engine, kept.id)
        waits.append((row.next_attempt_at - clock.now).total_seconds())
        clock.now = row.next_attempt_at
    row = delivery(engine, kept.id)
    assert row.state == FAILED and row.attempts == 3
    assert "503" in row.last_error
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4  # exponential with jitter
    with Session(engine) as session:
        assert record.entries(session, incident_id)[-1].action == "varsel.fejlet"


async def test_permanent_fault_fails_at_once_with_reason(engine):
    clock = Clock()
    kept = one_person_only(engine, accept_alert(engine, clock.now))
    channel = ScriptedChannel("teams", [DeliveryResult(ok=False, status_code=403, transient=False,
                                                       error="403 bot blocked by user")])
    await worker(engine, channel, clock).run_once()
    row = delivery(engine, kept.id)
    assert row.state == FAILED and row.attempts == 1 and "blocked" in row.last_error


async def test_accepted_alert_survives_a_crash_and_an_abandoned_lease(engine):
    clock = Clock()
    incident_id = accept_alert(engine, clock.now)
    # A first worker claims everything and dies before sending.
    dead = worker(engine, ScriptedChannel("teams", []), clock)
    claimed = dead.claim()
    assert claimed
    # While the lease holds, nobody else takes those rows.
    other = worker(engine, ScriptedChannel("teams", []), clock)
    assert other.claim() == []
    # After the lease a new worker (a restarted process) delivers them.
    clock.now += timedelta(minutes=3)
    channel = ScriptedChannel("teams", [])
    assert await worker(engine, channel, clock).run_once() == len(claimed)
    with Session(engine) as session:
        states = {d.state for d in session.exec(select(Delivery).where(
            Delivery.incident_id == incident_id, Delivery.channel == "teams"))}
    assert states == {SENT}
    assert sorted(c[0] for c in channel.calls) == sorted(
        delivery(engine, i).person_id for i in claimed)


async def test_email_goes_in_batches_within_the_recipient_limit(engine):
    clock = Clock()
    incident_id = accept_alert(engine, clock.now)
    with Session(engine) as session:
        emails = list(session.exec(select(Delivery).where(Delivery.incident_id == incident_id,
                                                          Delivery.channel == "email")))
    channel = ScriptedChannel("email", [], max_batch=3)
    await worker(engine, channel, clock).run_once()
    assert sum(len(c) for c in channel.calls) == len(emails)
    assert all(len(c) <= 3 for c in channel.calls)
    assert len(channel.calls) == -(-len(emails) // 3)


async def test_people_without_a_reachable_channel_are_named(engine):
    clock = Clock()
    person = secretariat_member(engine)
    with transaction(engine) as session:
        leaders = directory.ledergruppe_leaders_for_areas(session, noerrebro(engine))
        original = leaders[0].channels
        leaders[0].channels = "sms"
        session.add(leaders[0])
        unreachable_id = leaders[0].id
    try:
        activated = activate_beredskab(engine, actor_id=person.id, now=clock.now,
                                       data=shooting(noerrebro(engine), occurred_at=clock.now.isoformat()))
        assert activated.alert.unreachable == [unreachable_id]
        with Session(engine) as session:
            entry = record.entries(session, activated.incident.id)[1]
            assert "1 uden kanal" in entry.summary
    finally:
        with transaction(engine) as session:
            restored = directory.get_person(session, unreachable_id)
            restored.channels = original
            session.add(restored)


def test_akut_never_goes_by_teams_alone_and_others_start_on_the_first_channel():
    from types import SimpleNamespace

    from notifications.outbox import first_channels

    teams_only = SimpleNamespace(channels="teams", teams_user_id="u1", email="a@b.example")
    both = SimpleNamespace(channels="email,teams", teams_user_id="u2", email="c@d.example")
    assert first_channels(teams_only, "akut") == ["teams", "email"]
    assert first_channels(teams_only, "varsling") == ["teams"]
    assert first_channels(both, "akut") == ["email", "teams"]
    assert first_channels(both, "orientering") == ["email"]


class ReaderOf:
    """A read-back whose finds the test decides (person id -> Microsoft's id); it counts asks."""

    def __init__(self, found: dict[str, str]):
        self.found, self.asked = found, 0

    async def delivered(self, alert_id, recipients, since):
        self.asked += 1
        return {r.person_id: self.found[r.person_id] for r in recipients if r.person_id in self.found}


UNANSWERED = DeliveryResult(ok=False, transient=True, unknown=True,
                            error="forbindelsesfejl: ServerDisconnectedError()")


async def test_an_unanswered_call_waits_then_is_read_back_and_found_not_sent_again(engine):
    clock = Clock()
    incident_id = accept_alert(engine, clock.now)
    kept = one_person_only(engine, incident_id)
    channel = ScriptedChannel("teams", [UNANSWERED])
    reader = ReaderOf({kept.person_id: "aktivitet-1"})
    w = worker(engine, channel, clock, read_back={"teams": reader})
    assert await w.run_once() == 1
    row = delivery(engine, kept.id)
    assert row.state == QUEUED and row.claimed_by.startswith("ubesvaret:")
    assert row.next_attempt_at >= clock.now + timedelta(seconds=w.unanswered_wait)
    assert await w.run_once() == 0  # not read back before its wait is over
    clock.now = row.next_attempt_at
    await w.run_once()
    row = delivery(engine, kept.id)
    assert row.state == SENT and row.provider_message_id == "aktivitet-1"
    assert reader.asked == 1 and len(channel.calls) == 1  # found: not sent again
    with Session(engine) as session:
        outcomes = [a.outcome for a in session.exec(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == kept.id)
            .order_by(DeliveryAttempt.id))]
    assert outcomes == ["ukendt", "sendt"]


async def test_an_unanswered_call_not_found_is_sent_again_once(engine):
    clock = Clock()
    incident_id = accept_alert(engine, clock.now)
    kept = one_person_only(engine, incident_id)
    channel = ScriptedChannel("teams", [UNANSWERED])
    reader = ReaderOf({})
    w = worker(engine, channel, clock, read_back={"teams": reader})
    await w.run_once()
    clock.now = delivery(engine, kept.id).next_attempt_at
    await w.run_once()
    row = delivery(engine, kept.id)
    assert row.state == SENT and row.claimed_by is None
    assert reader.asked == 1 and len(channel.calls) == 2
