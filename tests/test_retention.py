"""Retention: marked personal data of incidents closed more than N months ago is anonymised
(rows and frozen plan versions), old delivery attempts and read-log rows are deleted and old
error texts cleared; nothing else changes, the record keeps its chain and gets one entry per
incident, a second run finds nothing, a dry run changes nothing, and the command reports it."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select as core_select
from sqlmodel import Session, SQLModel, select

from bot.activation import activate_beredskab
from bot.cli import main
from bot.settings import SettingsError, load_settings
from handleplaner import record, retention
from handleplaner.clock import local, utcnow
from handleplaner.commitments import service as commitments
from handleplaner.directory import queries as directory
from handleplaner.incidents import close_incident, get_incident
from handleplaner.incidents.states import TransitionRefused
from handleplaner.meetings import service as meetings
from handleplaner.personal_data import marked_models, personal_fields
from handleplaner.plans import service as plans
from handleplaner.plans import timebox
from handleplaner.plans.models import PlanVersion
from handleplaner.record.reads import PersonalDataRead, log_read
from handleplaner.storage import transaction
from notifications.models import ChannelPost, Delivery, DeliveryAttempt
from notifications.retention import delivery_log
from tests.service.helpers import noerrebro, secretariat_member, shooting

MONTH = timedelta(days=30.5)
NOW = utcnow()
POLICY = retention.Policy(personal_data_months=6,
                          logs=(delivery_log(12), retention.read_log(24)))


def secret(label: str, what: str) -> str:
    """A marked text for incident ``label`` with a fictional name that must not survive."""
    return f"{what}: Fiktiv-{label} Testesen (15 år) fra opgangen"


def build_incident(engine, label: str, *, start: datetime, closed: datetime | None) -> int:
    """An incident with every kind of marked text, made through the domain services."""
    editor = secretariat_member(engine)
    at = lambda hours: start + timedelta(hours=hours)  # noqa: E731
    data = shooting(noerrebro(engine), description=secret(label, "Beskrivelse"),
                    title=f"Skud ved boligområde {label}",
                    occurred_at=local(start - timedelta(minutes=30)).replace(tzinfo=None)
                    .isoformat(timespec="minutes"))
    incident_id = activate_beredskab(engine, actor_id=editor.id, data=data, now=start).incident.id
    with transaction(engine) as session:
        external = directory.list_people(session, authority="TSB")[0]
        meeting = meetings.call_meeting(
            session, incident_id=incident_id, actor_id=editor.id, organizer="x@kk.example",
            now=at(0.5), data={"externals": [{"person_id": external.id,
                                              "reason": secret(label, "Grund")}]})
        meetings.add_decision(session, meeting_id=meeting.id, agenda_position=2,
                              actor_id=editor.id, text=secret(label, "Beslutning"), now=at(1),
                              measure={"measure_type": "synlig-patruljering", "authority": "POL",
                                       "starts_at": at(2).isoformat(),
                                       "ends_at": at(30).isoformat()})
        meetings.minutes_to_plan(session, meeting_id=meeting.id, actor_id=editor.id, now=at(1.5))
        plan = plans.plan_of_incident(session, incident_id)
        plan.background += "\n" + secret(label, "Baggrund")
        session.add(plan)
        first = plans.measures(session, plan.id)[0]
        plans.update_measure(session, plan_id=plan.id, key=first.key, actor_id=editor.id,
                             data={"notes": secret(label, "Note")}, now=at(2))
        plans.extend_plan(session, plan_id=plan.id, actor_id=editor.id,
                          new_end=plan.period_end + timedelta(days=7),
                          reason=secret(label, "Forlængelse"), now=at(3))
        version = plans.send_plan(session, plan_id=plan.id, actor_id=editor.id, now=at(4))
        chair = plans.styregruppe_chair(session)
        plans.decide(session, version_id=version.id, person_id=chair, decision="godkend",
                     comment=secret(label, "Kommentar"), now=at(5))
        pending = commitments.sync_with_version(session, version, now=at(5))
        owned = next(c for c in pending if c.responsible_id)
        commitments.press(session, commitment_id=owned.id, version_id=version.id,
                          person_id=owned.responsible_id, action="afvis",
                          reason=secret(label, "Afvisning"), now=at(6))
        if closed is not None:
            timebox.start_evaluation(session, plan, closed - timedelta(days=1))
            timebox.evaluate(session, plan_id=plan.id, person_id=owned.responsible_id,
                             text=secret(label, "Evaluering"), now=closed - timedelta(hours=2))
            close_incident(session, incident_id=incident_id, actor_id=editor.id, now=closed)
        # the delivery log: an attempt and an error text on each delivery, a failed channel post
        for delivery in session.exec(select(Delivery).where(Delivery.incident_id == incident_id)):
            session.add(DeliveryAttempt(delivery_id=delivery.id, at=delivery.created_at,
                                        outcome="midlertidig", status_code=503,
                                        error=f"503 fra {delivery.person_id}@kk.example"))
            delivery.last_error = "503 midlertidigt utilgængelig"
            session.add(delivery)
        for post in session.exec(select(ChannelPost).where(ChannelPost.incident_id == incident_id)):
            post.last_error = "404 kanalen findes ikke"
            session.add(post)
    return incident_id


def read_twice(engine, incident_id: int, *moments: datetime) -> None:
    reader = secretariat_member(engine)
    for moment in moments:
        log_read(engine, incident_id=incident_id, person_id=reader.id, what="hændelsessiden",
                 at=moment)


@pytest.fixture
def incidents(engine) -> dict[str, int]:
    """A: closed 8 months ago (personal data due); B: closed 5 months ago (not due);
    C: open since 14 months (only its delivery log is due)."""
    ids = {
        "A": build_incident(engine, "A", start=NOW - 30 * MONTH, closed=NOW - 8 * MONTH),
        "B": build_incident(engine, "B", start=NOW - 7 * MONTH, closed=NOW - 5 * MONTH),
        "C": build_incident(engine, "C", start=NOW - 14 * MONTH, closed=None),
    }
    read_twice(engine, ids["A"], NOW - 26 * MONTH, NOW - 3 * MONTH)
    read_twice(engine, ids["B"], NOW - 6 * MONTH, NOW - MONTH)
    read_twice(engine, ids["C"], NOW - 13 * MONTH, NOW - 2 * MONTH)
    return ids


def dump(engine) -> dict[str, dict[tuple, dict]]:
    """Every row of every table, by primary key."""
    tables = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            key = [c.name for c in table.primary_key.columns]
            tables[table.name] = {tuple(row[k] for k in key): dict(row) for row in
                                  connection.execute(core_select(table)).mappings()}
    return tables


def everything(engine) -> str:
    return json.dumps({table: list(rows.values()) for table, rows in dump(engine).items()},
                      default=str, ensure_ascii=False)


def test_apply_removes_exactly_what_is_due_and_records_it(engine, incidents):
    a, b, c = incidents["A"], incidents["B"], incidents["C"]
    before = dump(engine)
    text_before = everything(engine)
    assert all(f"Fiktiv-{x}" in text_before for x in "ABC")

    report = retention.apply(engine, NOW, POLICY)
    after = dump(engine)

    # Only A's personal data and the old log rows; A and C (delivery log) got a record entry.
    assert set(report.incidents) == {a, c}
    assert report.incidents[a].personal_fields >= 10 and report.incidents[c].personal_fields == 0
    cutoff_log, cutoff_read = NOW - 12 * MONTH, NOW - 24 * MONTH
    attempts_due = {k for k, row in before["delivery_attempt"].items() if row["at"] < cutoff_log}
    reads_due = {k for k, row in before["personal_data_read"].items() if row["at"] < cutoff_read}
    assert attempts_due and len(reads_due) == 1
    assert set(before["delivery_attempt"]) - set(after["delivery_attempt"]) == attempts_due
    assert set(before["personal_data_read"]) - set(after["personal_data_read"]) == reads_due
    assert report.totals()["delivery_log"]["deleted"] == len(attempts_due)
    assert report.totals()["read_log"]["deleted"] == 1

    marked = {(m.__tablename__, name) for m in marked_models() for name in personal_fields(m)}
    allowed = marked | {("plan_version", "snapshot"), ("meeting_decision", "measure"),
                        ("delivery", "last_error"), ("channel_post", "last_error"),
                        ("incident", "record_seq"), ("incident", "record_head"),
                        # A's record key is destroyed (crypto-shredding), its row kept
                        ("record_key", "key"), ("record_key", "destroyed_at")}
    changed = {}
    for table, rows in before.items():
        for key, row in rows.items():
            if key in after[table]:
                for column, value in row.items():
                    if after[table][key][column] != value:
                        changed.setdefault((table, column), []).append(key)
                        assert (table, column) in allowed, (table, column)
                        if (table, column) in marked:
                            assert retention.MARKER.fullmatch(after[table][key][column])
            else:
                assert table in ("delivery_attempt", "personal_data_read"), table
    keys = {row["incident_id"]: row["key"] for row in after["record_key"].values()}
    assert keys[a] is None and keys[b] is not None and keys[c] is not None
    assert report.incidents[a].forgotten.keys == 1 and report.incidents[c].forgotten.empty
    assert {t for t, _ in changed} >= {"incident", "plan", "plan_measure", "plan_decision",
                                       "plan_extension", "plan_evaluation", "commitment",
                                       "meeting_invitee", "meeting_decision", "plan_version"}
    # error texts cleared only on old deliveries (A and C), B's kept
    for table in ("delivery", "channel_post"):
        for key, row in after[table].items():
            old = row["created_at"] < cutoff_log
            assert (row["last_error"] is None) == old, (table, key)
            assert row["incident_id"] in ((a, c) if old else (b, c))

    # No copy of A's marked texts is left anywhere (record, alerts, titles, snapshots); B and C
    # keep theirs.
    text_after = everything(engine)
    assert "Fiktiv-A" not in text_after
    assert text_after.count("Fiktiv-B") == text_before.count("Fiktiv-B") > 0
    assert text_after.count("Fiktiv-C") == text_before.count("Fiktiv-C") > 0

    with Session(engine) as session:
        for incident_id in (a, b, c):
            assert record.verify_chain(session, incident_id) is None
        entries = record.entries(session, a)
        assert [e.action for e in entries].count(retention.ACTION) == 1
        entry = entries[-1]
        assert entry.action == retention.ACTION and entry.actor_id == record.SYSTEM
        data = json.loads(entry.data)
        assert data["personal_data"]["fields"] == report.incidents[a].personal_fields
        assert data["personal_data"]["months"] == 6 and data["read_log"]["deleted"] == 1
        assert "personoplysninger anonymiseret" in entry.summary
        assert record.count(session, b, retention.ACTION) == 0
        c_entry = record.entries(session, c)[-1]
        assert c_entry.action == retention.ACTION
        assert json.loads(c_entry.data)["personal_data"]["fields"] == 0
        # the frozen version is scrubbed but keeps its shape for the documents
        version = session.exec(select(PlanVersion).join(plans.Plan).where(
            plans.Plan.incident_id == a)).one()
        snapshot = json.loads(version.snapshot)
        assert retention.MARKER.fullmatch(snapshot["background"])
        assert retention.MARKER.fullmatch(snapshot["period"]["extended"][0]["reason"])
        assert all(retention.MARKER.fullmatch(m["notes"]) for m in snapshot["measures"] if m["notes"])
        assert len(snapshot["confidential_people"]) == 1
        assert retention.MARKER.fullmatch(snapshot["confidential_people"][0])
        assert snapshot["measures"][0]["title"] and snapshot["incident"]["reference"]
        assert plans.version_snapshot(session, version)["approval"]["decisions"]

    # A second run finds nothing and changes nothing.
    assert retention.apply(engine, NOW, POLICY).incidents == {}
    with Session(engine) as session:
        assert retention.due(session, NOW, POLICY).incidents == {}
    assert dump(engine) == after


def test_dry_run_changes_nothing_and_matches_what_apply_does(engine, incidents):
    before = dump(engine)
    with Session(engine) as session:
        planned = retention.due(session, NOW, POLICY)
    assert dump(engine) == before
    assert planned.dry_run and set(planned.incidents) == {incidents["A"], incidents["C"]}
    done = retention.apply(engine, NOW, POLICY)
    assert done.totals() == planned.totals()


def test_closing_time_comes_from_the_record_and_the_cutoff_is_strict(engine, incidents):
    with Session(engine) as session:
        times = retention.closing_times(session)
        closed_a = record.entries(session, incidents["A"])[-1]
        assert set(times) == {incidents["A"], incidents["B"]}  # C is open
        assert closed_a.action == "beredskab.afsluttet" and times[incidents["A"]] == closed_a.at
        assert incidents["A"] not in retention.closed_before(session, closed_a.at)
        assert incidents["A"] in retention.closed_before(session,
                                                         closed_a.at + timedelta(microseconds=1))


def test_closing_is_for_the_secretariat_and_only_once(engine, incidents):
    with Session(engine) as session:
        outsider = next(p for p in directory.list_people(session)
                        if not any(g.kind == "sekretariat" for g in directory.groups_of(session, p.id)))
    with pytest.raises(Exception, match="Kun SSP Sekretariatet"), transaction(engine) as session:
        close_incident(session, incident_id=incidents["C"], actor_id=outsider.id)
    with pytest.raises(TransitionRefused), transaction(engine) as session:
        close_incident(session, incident_id=incidents["A"],
                       actor_id=secretariat_member(engine).id)
    with transaction(engine) as session:
        close_incident(session, incident_id=incidents["C"], actor_id=secretariat_member(engine).id)
    with Session(engine) as session:
        assert get_incident(session, incidents["C"]).state == "afsluttet"


def test_every_marked_model_reaches_its_incident():
    for model in [*marked_models(), PersonalDataRead, DeliveryAttempt, Delivery, ChannelPost]:
        joins, column = retention.incident_path(model.__table__)
        assert column.name in ("incident_id", "id")


def test_months_and_marker():
    moment = datetime(2026, 3, 31, 12, 0)
    assert retention.months_before(moment, 1) == datetime(2026, 2, 28, 12, 0)
    assert retention.months_before(moment, 15) == datetime(2024, 12, 31, 12, 0)
    assert retention.MARKER.fullmatch(retention.marker(utcnow(), 6))
    with pytest.raises(retention.RetentionError, match="større end 0"):
        retention.Policy(personal_data_months=0)


@pytest.mark.parametrize("name", ["RETENTION_PERSONAL_DATA_MONTHS", "RETENTION_DELIVERY_LOG_MONTHS",
                                  "RETENTION_READ_LOG_MONTHS"])
def test_settings_refuse_months_that_are_not_positive(name):
    with pytest.raises(SettingsError, match=f"BEREDSKAB_{name}"):
        load_settings(demo=True, **{name.lower(): 0})
    assert getattr(load_settings(demo=True), name.lower()) > 0


def test_command_dry_run_then_run(demo_database, incidents, capsys, monkeypatch):
    url, engine = demo_database
    monkeypatch.delenv("BEREDSKAB_RETENTION_PERSONAL_DATA_MONTHS", raising=False)
    before = dump(engine)
    assert main(["retention", "run", "--dry-run", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "intet er ændret" in out and "Personoplysninger" in out and "Læselog" in out
    assert "1 post skal slettes" in out  # the read log
    assert dump(engine) == before

    assert main(["retention", "run", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "er håndhævet" in out and "Leveringslog" in out and "2 hændelser har fået" in out
    assert "Fiktiv-A" not in everything(engine)

    assert main(["retention", "run", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "0 felter i 0 rækker anonymiseret" in out and "0 hændelser har fået" in out

    monkeypatch.setenv("BEREDSKAB_RETENTION_READ_LOG_MONTHS", "0")
    assert main(["retention", "run", "--database-url", url]) == 2
    assert "BEREDSKAB_RETENTION_READ_LOG_MONTHS" in capsys.readouterr().err


async def test_the_scheduler_runs_retention_daily_at_half_past_three(engine, incidents,
                                                                      monkeypatch):
    import asyncio
    from types import SimpleNamespace

    from bot.services import escalation_scheduler
    from notifications import commitment_reminders

    # building the scheduler sets the reminders' context; put it back afterwards
    monkeypatch.setattr(commitment_reminders, "CONTEXT", commitment_reminders.CONTEXT)

    services = SimpleNamespace(engine=engine, settings=load_settings(demo=True),
                               worker=SimpleNamespace(wakeup=asyncio.Event()), calendar=None)
    scheduler = escalation_scheduler(services)
    job = next(j for j in scheduler.get_jobs() if j.id == "retention")
    assert str(job.trigger.timezone) == "Europe/Copenhagen"
    assert {f.name: str(f) for f in job.trigger.fields}["hour"] == "3"
    assert {f.name: str(f) for f in job.trigger.fields}["minute"] == "30"
    await job.func()
    assert "Fiktiv-A" not in everything(engine)
    with Session(engine) as session:
        assert record.count(session, incidents["A"], retention.ACTION) == 1
