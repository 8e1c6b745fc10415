"""The statistics for the annual report, on a small data set built through the services at
chosen moments: incidents per area and type, times from activation (median and mean),
commitments met in time, exercises apart, the year in Copenhagen time; the page's year filter
and its access rule."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session

from bot import statistics as stats

from .helpers import DEMO, non_activator, noerrebro, secretariat_member
from .timeline import (activate_at, approve, call_meeting, cancel_meeting, deliver_at,
                       owned_commitments, plan_sent, press)

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
I0 = datetime(2024, 12, 31, 23, 30, tzinfo=timezone.utc)  # 00:30 on 1 January 2025 in Copenhagen
BEFORE = datetime(2024, 12, 31, 22, 30, tzinfo=timezone.utc)  # 23:30 on New Year's Eve: 2024
I1 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
E1 = datetime(2025, 4, 1, 8, 0, tzinfo=timezone.utc)
I2 = datetime(2025, 5, 10, 8, 0, tzinfo=timezone.utc)
I3 = datetime(2025, 9, 1, 12, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=timezone.utc)


async def build_2025(engine) -> dict:
    """Four real incidents of 2025 (one just after midnight on New Year's Eve), one exercise,
    and one incident of 2024."""
    editor = secretariat_member(engine).id
    activate_at(engine, editor, BEFORE, ["amager-sydoest"], incident_type="drab")
    await deliver_at(engine, BEFORE + 30 * MIN)

    activate_at(engine, editor, I0, ["vesterbro"], incident_type="brand", severity="varsling")
    await deliver_at(engine, I0 + 1 * MIN)

    i1 = activate_at(engine, editor, I1, noerrebro(engine))
    await deliver_at(engine, I1 + 4 * MIN)
    call_meeting(engine, i1, editor, called=I1 + 30 * MIN, starts=I1 + 90 * MIN)
    plan_id, version_id = plan_sent(engine, i1, editor, drafted=I1 + 2 * HOUR,
                                    sent=I1 + 3 * HOUR, period_days=7)
    approve(engine, version_id, I1 + 5 * HOUR)
    owned = owned_commitments(engine, plan_id)
    met, late = owned[0], owned[1]
    press(engine, met, "bekraeft", I1 + 4 * HOUR)
    press(engine, met, "udfoert", min(met.ends_at.replace(tzinfo=timezone.utc) - MIN,
                                      I1 + 6 * HOUR))
    press(engine, late, "bekraeft", I1 + 4 * HOUR)
    press(engine, late, "udfoert", late.ends_at.replace(tzinfo=timezone.utc) + HOUR)

    activate_at(engine, editor, E1, ["valby"], exercise=True)
    await deliver_at(engine, E1 + 2 * MIN)

    i2 = activate_at(engine, editor, I2, ["valby"], incident_type="uro", severity="varsling")
    await deliver_at(engine, I2 + 16 * MIN)
    meeting = call_meeting(engine, i2, editor, called=I2 + 60 * MIN, starts=I2 + 3 * HOUR)
    cancel_meeting(engine, meeting, editor, I2 + 2 * HOUR)

    activate_at(engine, editor, I3, [], whole_city=True, incident_type="konflikt")  # no delivery
    return {"plan_id": plan_id, "commitments": len(owned), "met": met, "late": late}


def by_code(rows) -> dict:
    return {r.code: r.count for r in rows}


async def test_year_figures_for_a_small_constructed_year(engine):
    built = await build_2025(engine)
    with Session(engine) as session:
        assert [i.incident_type for i in stats.incidents_of_year(session, 2025)] == [
            "brand", "skyderi", "uro", "konflikt"]
        assert [i.incident_type for i in stats.incidents_of_year(session, 2024)] == ["drab"]

        year = stats.incidents_of_year(session, 2025)
        areas = by_code(stats.per_area(session, year))
        assert {code: n for code, n in areas.items() if n} == {
            "vesterbro": 1, "indre-noerrebro": 1, "ydre-noerrebro": 1, "valby": 1, "hele-byen": 1}
        assert len(areas) == 16  # every area, also those with none, and "Hele byen"
        assert by_code(stats.per_type(year)) == {
            "konflikt": 1, "skyderi": 1, "brand": 1, "drab": 0, "uro": 1, "institution": 0,
            "andet": 0}

        times = {t.key: t for t in stats.response_times(session, year, now=NOW)}
        alert = times["varsel"]  # 1, 4 and 16 minutes; the whole-city one was never delivered
        assert (alert.reached, alert.incidents) == (3, 4)
        assert alert.median == 4 * MIN and alert.mean == 7 * MIN
        called = times["moede_indkaldt"]  # 30 and 60 minutes
        assert (called.reached, called.median, called.mean) == (2, 45 * MIN, 45 * MIN)
        held = times["moede_afholdt"]  # the second meeting was cancelled
        assert (held.reached, held.median) == (1, 90 * MIN)
        approved = times["plan_godkendt"]
        assert (approved.reached, approved.median, approved.mean) == (1, 5 * HOUR, 5 * HOUR)
        # before the meeting's start it has not been held
        early = {t.key: t for t in stats.response_times(session, year, now=I1 + HOUR)}
        assert early["moede_afholdt"].reached == 0

        done = stats.commitments_in_time(session, year, now=NOW)
        assert (done.met, done.late, done.running) == (1, 1, 0)
        assert done.missed == built["commitments"] - 2 + _unowned(session, built["plan_id"])
        assert done.share == pytest.approx(1 / done.decided)
        midway = stats.commitments_in_time(session, year, now=I1 + 7 * HOUR)
        assert midway.met == 1 and midway.running + midway.missed + midway.late == (
            done.decided - 1)

        exercises = stats.figures(session, 2025, exercise=True, now=NOW)
        assert exercises.incidents == 1 and by_code(exercises.per_area)["valby"] == 1
        assert exercises.times[0].median == 2 * MIN
        year = stats.year_statistics(session, 2025, now=NOW)
        assert (year.real.incidents, year.exercises.incidents, year.planned) == (4, 1, 0)


def _unowned(session, plan_id) -> int:
    from sqlmodel import select

    from handleplaner.commitments.models import Commitment
    return len(session.exec(select(Commitment).where(Commitment.plan_id == plan_id,
                                                     Commitment.responsible_id.is_(None))).all())


def test_year_parameter_is_validated_in_danish():
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert stats.parse_year(None, now=now) == stats.parse_year("", now=now) == 2026
    assert stats.parse_year(" 2025 ", now=now) == 2025
    for bad in ("abc", "20266", "2026.0", "-2026", "٢٠٢٦"):
        with pytest.raises(stats.YearInvalid, match="fire cifre"):
            stats.parse_year(bad, now=now)
    for bad in ("1999", "2027"):
        with pytest.raises(stats.YearInvalid, match="mellem 2000 og 2026"):
            stats.parse_year(bad, now=now)
    start, end = stats.year_bounds(2025)
    assert (start, end) == (datetime(2024, 12, 31, 23, tzinfo=timezone.utc),
                            datetime(2025, 12, 31, 23, tzinfo=timezone.utc))
    assert [stats.duration_text(d) for d in (4 * MIN, 2 * HOUR + 5 * MIN, 27 * HOUR, None)] == [
        "4 min", "2 t 05 min", "1 d 3 t", "–"]


async def test_statistics_page_for_the_secretariat_only(service):
    await build_2025(service.engine)
    editor = secretariat_member(service.engine)
    response = await service.client.get("/statistik?aar=2025", headers={DEMO: editor.id})
    html = await response.text()
    assert response.status == 200
    assert '<html lang="da">' in html and "<h1>Statistik 2025</h1>" in html
    assert 'data-tal="haendelser">4<' in html and 'data-tal="ovelser">1<' in html
    assert 'data-tal="i-tide">1<' in html and 'data-tal="for-sent">1<' in html
    assert html.count('role="img"') == 4 and html.count("<table>") >= 4
    assert "<desc" in html and "Vesterbro: 1" in html  # the charts' text alternative
    assert '<option value="2025" selected>' in html
    assert '<td class="tal">4 min</td>' in html  # median time to the first alert

    for bad, message in (("abc", "fire cifre"), ("1999", "mellem 2000 og")):
        response = await service.client.get(f"/statistik?aar={bad}", headers={DEMO: editor.id})
        html = await response.text()
        assert response.status == 400 and message in html and 'aria-invalid="true"' in html

    response = await service.client.get("/statistik", headers={DEMO: editor.id})
    assert response.status == 200  # this year, by default

    for person in (non_activator(service.engine), _activator_outside_secretariat(service.engine)):
        response = await service.client.get("/statistik", headers={DEMO: person.id},
                                            allow_redirects=False)
        assert response.status == 403


def _activator_outside_secretariat(engine):
    from handleplaner.directory import queries as directory

    with Session(engine) as session:
        return next(p for p in directory.list_people(session)
                    if directory.may_activate(session, p.id)
                    and not directory.is_secretariat(session, p.id))
