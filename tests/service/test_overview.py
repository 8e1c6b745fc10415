"""The front page's overview: active incidents with severity, areas, plan period and days left,
commitments confirmed/outstanding/overdue and the last alert, Akut first; closed ones apart;
confidential incidents hidden from outsiders; the map marks exactly the areas touched."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from bot.area_map import POSITIONS, area_map, place, wrap
from bot.overview_page import days_left, days_left_text, overview
from handleplaner import access as policy
from handleplaner.clock import utcnow
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.directory.models import Area
from handleplaner.incidents import get_incident
from handleplaner.plans.service import plan_of_incident

from .helpers import DEMO, noerrebro, secretariat_member
from .timeline import activate_at, close, owned_commitments, plan_sent, press

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in Copenhagen


def aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def outsider(engine, incident_id: int):
    """Someone who may activate beredskab but is neither in the secretariat nor a participant."""
    with Session(engine) as session:
        return next(p for p in directory.list_people(session)
                    if directory.may_activate(session, p.id)
                    and not directory.is_secretariat(session, p.id)
                    and not policy.is_participant(session, p.id, incident_id))


@pytest.fixture
def situation(engine):
    """A: Akut in Nørrebro with a sent plan (2 confirmed, one of them done, 1 declined);
    B: a newer, confidential Varsling in Valby without a plan; C: closed."""
    editor = secretariat_member(engine)
    a = activate_at(engine, editor.id, T0, noerrebro(engine))
    plan_id, _ = plan_sent(engine, a, editor.id, drafted=T0 + timedelta(hours=1),
                           sent=T0 + timedelta(hours=2), period_days=7)
    owned = owned_commitments(engine, plan_id)
    assert len(owned) >= 4
    press(engine, owned[0], "bekraeft", T0 + timedelta(hours=3))
    press(engine, owned[1], "bekraeft", T0 + timedelta(hours=3))
    press(engine, owned[1], "udfoert", T0 + timedelta(hours=4))
    press(engine, owned[2], "afvis", T0 + timedelta(hours=3), reason="Ingen ledige folk")
    b = activate_at(engine, editor.id, T0 + timedelta(days=1), ["valby"], severity="varsling",
                    incident_type="uro", title="Uro ved stationen", confidential=True)
    c = activate_at(engine, editor.id, T0 + timedelta(hours=2), ["vesterbro"],
                    severity="orientering", incident_type="andet", title="Graffiti")
    close(engine, c, editor.id, T0 + timedelta(hours=5))
    return {"editor": editor, "a": a, "b": b, "c": c, "plan_id": plan_id}


def test_active_incidents_with_counts_days_left_and_last_alert(engine, situation):
    s = situation
    with Session(engine) as session:
        total = len(session.exec(select(Commitment).where(
            Commitment.plan_id == s["plan_id"])).all())  # also any without a leader
        seen = overview(session, s["editor"].id, now=T0 + timedelta(days=2))
        a, b = seen.active  # Akut first, though B is newer
        assert (a.incident.id, b.incident.id) == (s["a"], s["b"])
        assert a.area_names == ["Indre Nørrebro", "Ydre Nørrebro"]
        # period 2 March 10:00 + 7 days = 9 March; on 4 March: 5 days left
        assert a.days_left == 5 and a.days_left_text == "5 dage tilbage"
        counts = a.commitments
        assert (counts.confirmed, counts.declined, counts.total) == (2, 1, total)
        assert counts.outstanding == total - 3
        assert a.last_alert.kind == "opgaver"
        assert aware(a.last_alert.created_at) == T0 + timedelta(hours=2, minutes=1)
        assert b.plan is None and b.days_left_text == "ingen handleplan"
        assert b.last_alert.kind == "aktivering" and b.commitments.total == 0
        (closed,) = seen.closed
        assert closed.incident.id == s["c"] and aware(closed.closed_at) == T0 + timedelta(hours=5)

        # After the period: every commitment not done is overdue; the last day is "today".
        later = overview(session, s["editor"].id, now=T0 + timedelta(days=7, hours=2))
        a = later.active[0]
        assert a.days_left == 0 and a.days_left_text == "udløber i dag"
        assert a.commitments.overdue == total - 1  # all but the one done


def test_days_left_counts_calendar_days_in_copenhagen():
    end = datetime(2026, 3, 9, 22, 30, tzinfo=timezone.utc)  # 23:30 on the 9th in Copenhagen
    assert days_left(end, datetime(2026, 3, 8, 23, 30, tzinfo=timezone.utc)) == 0  # 00:30 the 9th
    assert days_left(end, datetime(2026, 3, 8, 22, 30, tzinfo=timezone.utc)) == 1
    assert [days_left_text(n) for n in (2, 1, 0, -1, -3)] == [
        "2 dage tilbage", "1 dag tilbage", "udløber i dag", "udløbet for 1 dag siden",
        "udløbet for 3 dage siden"]


def test_confidential_incident_is_not_listed_for_outsiders(engine, situation):
    s = situation
    stranger = outsider(engine, s["b"])
    with Session(engine) as session:
        seen = overview(session, stranger.id, now=T0 + timedelta(days=2))
        assert [line.incident.id for line in seen.active] == [s["a"]]
        assert {t.code for t in seen.map.affected} == set(noerrebro(engine))
        assert "valby" not in {code for code, _, _ in seen.touched}
        secretariat = overview(session, s["editor"].id, now=T0 + timedelta(days=2))
        assert {t.code for t in secretariat.map.affected} == set(noerrebro(engine)) | {"valby"}


def test_map_marks_exactly_the_areas_touched_and_all_for_the_whole_city(engine, situation):
    s = situation
    with Session(engine) as session:
        seen = overview(session, s["editor"].id, now=T0 + timedelta(days=2))
        reference = get_incident(session, s["a"]).reference
        affected = {t.code: t for t in seen.map.affected}
        assert set(affected) == set(noerrebro(engine)) | {"valby"}  # not the closed incident's
        assert affected["indre-noerrebro"].references == (reference,)
        assert "1 aktiv hændelse" in affected["indre-noerrebro"].label
        assert seen.map.summary.startswith("Aktive hændelser i 3 af 15 områder")
    whole = activate_at(engine, s["editor"].id, T0 + timedelta(days=1, hours=1), [],
                        whole_city=True, severity="varsling", title="Uro i hele byen")
    with Session(engine) as session:
        seen = overview(session, s["editor"].id, now=T0 + timedelta(days=2))
        line = next(x for x in seen.active if x.incident.id == whole)
        assert line.area_names == ["Hele byen"]
        assert len(seen.map.affected) == len(seen.map.tiles) == 15
        assert all(get_incident(session, whole).reference in t.references for t in seen.map.tiles)


def test_tile_positions_cover_the_directory_and_unknown_areas_fall_back_below(engine):
    with Session(engine) as session:
        codes = [a.code for a in directory.all_areas(session)]
    assert set(codes) <= set(POSITIONS)
    cells = place(codes + ["ny-a", "ny-b"])
    assert len(set(cells.values())) == len(cells)  # no two areas share a tile
    assert cells["ny-a"] == (0, 4) and cells["ny-b"] == (1, 4)
    drawn = area_map([Area(code="ny-a", name="Nyt område", bydel="")], {"ny-a": ["H-2026-0009"]})
    assert drawn.affected[0].references == ("H-2026-0009",)
    assert wrap("Brønshøj/Bellahøj") == ("Brønshøj/", "Bellahøj")
    assert wrap("Indre By og Christianshavn") == ("Indre By og", "Christianshavn")


# -- the page ---------------------------------------------------------------------------------

def map_links(html: str) -> set[str]:
    return set(re.findall(r'<a href="#omraade-([^"]+)"', html))


async def test_front_page_shows_the_overview_and_the_map(service):
    engine = service.engine
    editor = secretariat_member(engine)
    now = utcnow() - timedelta(minutes=5)
    a = activate_at(engine, editor.id, now, noerrebro(engine))
    plan_id, _ = plan_sent(engine, a, editor.id, drafted=now, sent=now, period_days=7)
    owned = owned_commitments(engine, plan_id)
    press(engine, owned[0], "bekraeft", now + timedelta(minutes=2))
    b = activate_at(engine, editor.id, now + timedelta(minutes=1), ["valby"], severity="varsling",
                    incident_type="uro", title="Uro ved stationen", confidential=True)
    with Session(engine) as session:
        ref_a, ref_b = get_incident(session, a).reference, get_incident(session, b).reference
        expected_days = days_left_text(days_left(plan_of_incident(session, a).period_end, utcnow()))

    response = await service.client.get("/", headers={DEMO: editor.id})
    html = await response.text()
    assert response.status == 200
    assert html.index(ref_a) < html.index(ref_b)  # Akut first
    assert expected_days in html and "Ingen handleplan endnu" in html
    assert "Bekræftet: <strong>1</strong>" in html
    assert map_links(html) == set(noerrebro(engine)) | {"valby"}
    assert 'href="/statistik"' in html  # the secretariat's navigation

    stranger = outsider(engine, b)
    response = await service.client.get("/", headers={DEMO: stranger.id})
    html = await response.text()
    assert response.status == 200
    assert ref_a in html and ref_b not in html and "Uro ved stationen" not in html
    assert map_links(html) == set(noerrebro(engine))
    assert 'href="/statistik"' not in html
