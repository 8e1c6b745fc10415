"""Malformed input never gives a server error: each malformed value the penetration test (and the
fuzz run) found gets a Danish answer naming the field, and nothing is written.

Ids beyond the 32-bit id columns are sent as 2**31, 2**63 and 2**64 and beyond, so the same
requests would catch an integer overflow on PostgreSQL (int4/int8) as well as on SQLite.
"""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, func, select

from handleplaner.meetings.models import Meeting, MinuteDecision
from handleplaner.plans.models import Plan, PlanMeasure, PlanVersion
from handleplaner.record.models import RecordEntry
from notifications.models import Alert, Delivery

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting

HUGE = ["2147483648", "9223372036854775808", "18446744073709551616", "99999999999999999999"]
DEEP = b"[" * 100_000 + b"]" * 100_000


async def _scene(service) -> dict:
    """Incident A with a sent plan (version 1) and a meeting; incident B with neither."""
    client, editor = service.client, secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    areas = noerrebro(service.engine)
    a = await (await client.post("/api/incidents", headers=headers, json=shooting(areas))).json()
    b = await (await client.post("/api/incidents", headers=headers,
                                 json=shooting(areas, title="Anden hændelse"))).json()
    plan = await (await client.post(f"/api/incidents/{a['id']}/plan", headers=headers,
                                    json={"template": "skyderi", "period_days": 14})).json()
    sent = await (await client.post(f"/api/plans/{plan['id']}/send", headers=headers,
                                    json={})).json()
    meeting = await (await client.post(f"/api/incidents/{a['id']}/meetings", headers=headers,
                                       json={"online": True})).json()
    assert {"id"} <= set(meeting), meeting
    return {"incident": a["id"], "bare": b["id"], "plan": plan["id"], "meeting": meeting["id"],
            "version": sent["version_id"], "editor": editor.id}


def _counts(engine) -> dict:
    with Session(engine) as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one()
                for t in (RecordEntry, Plan, PlanMeasure, PlanVersion, Meeting, MinuteDecision,
                          Alert, Delivery)}


def _meeting_row(engine, meeting_id: int) -> tuple:
    with Session(engine) as session:
        m = session.get(Meeting, meeting_id)
        return m.starts_at, m.ends_at, m.location, m.sequence


# (method, path, JSON body, status, field named in "felter" or None)
API_CASES = [
    *[("GET", "/api/plans/{plan}/versions/" + n, None, 404, None) for n in HUGE],
    ("POST", "/api/plans/{plan}/versions/99999999999999999999/sikkerby", None, 404, None),
    *[("GET", "/api/incidents/" + n, None, 404, None) for n in HUGE[1:]],
    ("POST", "/api/plan-versions/9223372036854775808/decisions", {"decision": "godkend"}, 404, None),
    ("GET", "/api/meetings/18446744073709551616/invitation.ics", None, 404, None),
    ("POST", "/api/alerts/-1/acknowledge", None, 404, None),
    ("POST", "/api/incidents/{bare}/plan", {"template": "skyderi", "period_days": "x"}, 422,
     "period_days"),
    ("POST", "/api/incidents/{bare}/plan", {"template": "skyderi", "period_days": [14]}, 422,
     "period_days"),
    ("POST", "/api/incidents/{bare}/plan", {"template": "skyderi", "period_days": 10**30}, 422,
     "period_days"),
    ("POST", "/api/incidents/{bare}/plan", {"template": ["skyderi"]}, 422, "template"),
    ("POST", "/api/incidents/{bare}/meetings", {"externals": ["x"]}, 422, "externals"),
    ("POST", "/api/incidents/{bare}/meetings", {"externals": {"person_id": "x"}}, 422, "externals"),
    ("POST", "/api/incidents/{bare}/meetings", {"starts_at": 12345}, 422, "starts_at"),
    ("POST", "/api/incidents/{bare}/meetings", {"starts_at": "9999-12-31T23:59"}, 422, "starts_at"),
    ("POST", "/api/incidents/{bare}/meetings", {"location": ["x"], "online": False}, 422,
     "location"),
    ("POST", "/api/meetings/{meeting}/change", {"starts_at": 12345}, 422, "starts_at"),
    ("POST", "/api/meetings/{meeting}/change", {"starts_at": "9999-12-31T23:30"}, 422, "starts_at"),
    ("POST", "/api/meetings/{meeting}/change", {"location": 5}, 422, "location"),
    ("POST", "/api/meetings/{meeting}/decisions", {"agenda_position": "x", "text": "Beslutning"},
     422, "agenda_position"),
    ("POST", "/api/meetings/{meeting}/decisions",
     {"agenda_position": 99999999999999999999, "text": "Beslutning"}, 422, "agenda_position"),
    ("POST", "/api/meetings/{meeting}/decisions",
     {"agenda_position": 1, "text": "Beslutning", "measure": ["x"]}, 422, "measure"),
    ("POST", "/api/meetings/{meeting}/decisions", {"agenda_position": 1, "text": ["x"]}, 422,
     "text"),
    ("POST", "/api/incidents/{incident}/alerts",
     {"kind": "opdatering", "severity": "akut", "text": "Opdatering",
      "parent_alert_id": 99999999999999999999}, 422, "parent_alert_id"),
    ("POST", "/api/incidents/{incident}/alerts/preview",
     {"kind": "opdatering", "severity": "akut", "text": "Opdatering",
      "parent_alert_id": 2**63}, 422, "parent_alert_id"),
    ("POST", "/api/meetings/{meeting}/change", {"location": "Rådhuset \ud800"}, 422, "location"),
    ("POST", "/api/meetings/{meeting}/change", {"location": "Rådhuset\u0000"}, 422, "location"),
    ("POST", "/api/meetings/{meeting}/cancel", {"reason": "\udfff"}, 422, "reason"),
    ("POST", "/api/incidents/{incident}/alerts/preview",
     {"kind": "besked", "severity": "akut", "text": "Besked",
      "audience": {"areas": ["x", "a\u0000"]}}, 422, "audience.areas[1]"),
    ("POST", "/api/plans/{plan}/extend", {"new_end": "9999-12-31T23:59", "reason": "x"}, 422,
     "new_end"),
    ("POST", "/api/planned-events", {"template": "fest", "title": "Fest",
                                     "event_at": "9999-12-31T20:00"}, 422, "event_at"),
    ("POST", "/api/planned-events", {"template": "fest", "title": "Fest",
                                     "event_at": "2026-06-01T20:00", "areas": [["x"]]}, 422, "areas"),
]


@pytest.mark.parametrize("method, path, body, status, field", API_CASES,
                         ids=[f"{m} {p} {json.dumps(b)[:60]}" for m, p, b, *_ in API_CASES])
async def test_malformed_api_input_is_refused_and_nothing_is_written(service, method, path, body,
                                                                     status, field):
    ids = await _scene(service)
    before, meeting = _counts(service.engine), _meeting_row(service.engine, ids["meeting"])
    response = await service.client.request(method, path.format(**ids), json=body,
                                            headers={DEMO: ids["editor"]})
    answer = await response.json()
    assert response.status == status, answer
    assert answer["fejl"]
    if field:
        assert field in answer["felter"], answer
        assert all(isinstance(m, str) and m for m in answer["felter"].values())
    assert _counts(service.engine) == before
    assert _meeting_row(service.engine, ids["meeting"]) == meeting


async def test_deeply_nested_json_is_refused_before_anything_else(service):
    """Not signed in, to the bot endpoint and the API: 400, not a parser's recursion error."""
    for path in ("/api/messages", "/api/incidents", "/api/incidents/1/alerts"):
        response = await service.client.post(path, data=DEEP,
                                             headers={"Content-Type": "application/json"})
        assert response.status == 400, (path, await response.text())
    editor = secretariat_member(service.engine)
    response = await service.client.post("/api/incidents", data=DEEP, headers={
        "Content-Type": "application/json", DEMO: editor.id})
    assert response.status == 400
    assert "indlejret" in (await response.json())["fejl"]
    assert _counts(service.engine)["RecordEntry"] == 0


@pytest.mark.parametrize("body", [b"[]", b"[1, 2]", b'"tekst"', b"17", b"null"])
async def test_a_body_that_is_not_an_object_is_400(service, body):
    ids = await _scene(service)
    before = _counts(service.engine)
    for path in ("/api/incidents", "/api/incidents/{incident}/alerts",
                 "/api/meetings/{meeting}/change", "/api/plans/{plan}/measures"):
        response = await service.client.post(path.format(**ids), data=body, headers={
            "Content-Type": "application/json", DEMO: ids["editor"]})
        assert response.status == 400, path
        assert "JSON-objekt" in (await response.json())["fejl"]
    assert _counts(service.engine) == before


async def _signed_in(service, person_id: str, incident_id: int) -> str:
    await demo_sign_in(service.client, person_id)
    page = await (await service.client.get(f"/haendelser/{incident_id}/plan")).text()
    return page.split('name="csrf" value="')[1].split('"')[0]


PAGE_CASES = [
    ("/haendelser/{incident}/plan", {"handling": "beslut", "version_id": n, "decision": "godkend"},
     "version") for n in HUGE
] + [
    ("/haendelser/{incident}/opgaver", {"handling": "bekraeft", "commitment_id": HUGE[1]}, None),
    ("/haendelser/{incident}/moede", {"handling": "flyt", "starts_at": "9999-12-31T23:30"},
     "starts_at"),
    ("/haendelser/{incident}/moede", {"handling": "beslutning", "agenda_position": HUGE[3],
                                      "text": "Beslutning"}, "agenda_position"),
    ("/haendelser/{incident}/moede", {"handling": "indkald", "duration_minutes": HUGE[3]},
     "duration_minutes"),
    ("/haendelser/{bare}/moede", {"handling": "indkald", "starts_at": "9999-12-31T23:59",
                                  "online": "ja"}, "starts_at"),
    ("/haendelser/{incident}/plan", {"handling": "forlaeng", "new_end": "9999-12-31T23:59",
                                     "reason": "x"}, "new_end"),
    ("/haendelser/{bare}/plan", {"handling": "udarbejd", "template": "skyderi",
                                 "period_days": HUGE[3]}, "period_days"),
]


@pytest.mark.parametrize("path, form, field", PAGE_CASES,
                         ids=[f"{p} {f}"[:90] for p, f, _ in PAGE_CASES])
async def test_malformed_form_input_is_shown_on_the_page_and_nothing_is_written(service, path,
                                                                               form, field):
    ids = await _scene(service)
    csrf = await _signed_in(service, ids["editor"], ids["incident"])
    before, meeting = _counts(service.engine), _meeting_row(service.engine, ids["meeting"])
    response = await service.client.post(path.format(**ids), data={"csrf": csrf, **form},
                                         allow_redirects=False)
    assert response.status < 500, await response.text()
    assert response.status in (303, 400, 403, 404, 422)
    if field:
        assert response.status == 422
    assert _counts(service.engine) == before
    assert _meeting_row(service.engine, ids["meeting"]) == meeting


def test_ids_beyond_the_columns_are_not_ids():
    from bot.request_input import MAX_ID, whole_id

    assert whole_id("17") == 17 and whole_id(str(MAX_ID)) == MAX_ID
    for text in ("0", "-1", str(MAX_ID + 1), str(2**63), "1e3", "٣", " ", "", None, "12a"):
        assert whole_id(text) is None, text


GET_CASES = [
    "/haendelser/99999999999999999999", "/haendelser/{incident}/plan?x=%00",
    "/planer/{plan}/versioner/99999999999999999999", "/planer/{plan}/versioner/2147483648.pdf",
    "/planer/{plan}/versioner/9223372036854775808/sikkerby.html",
    "/planer/18446744073709551616/versioner/1", "/kvitter/99999999999999999999",
    "/statistik?aar=99999999999999999999", "/statistik?aar=-1",
    "/haendelser/{incident}/sagsakt.zip?variant=%5B%5D",
    "/api/incidents/{incident}/export?variant=99999999999999999999",
    "/api/plan-templates?incident_type=%00", "/log-ind?next=%00%2F%2F",
    "/haendelser/{incident}/opgaver?fejl=%00&opgave=99999999999999999999",
]


@pytest.mark.parametrize("path", GET_CASES)
async def test_malformed_ids_and_queries_in_reads_are_not_server_errors(service, path):
    ids = await _scene(service)
    await demo_sign_in(service.client, ids["editor"])
    response = await service.client.get(path.format(**ids), headers={DEMO: ids["editor"]},
                                        allow_redirects=False)
    assert response.status < 500, await response.text()


@pytest.mark.parametrize("rounds", ["x", "-1", "99999999999999999999"])
async def test_the_board_stream_refuses_a_malformed_number_of_rounds(service, rounds):
    ids = await _scene(service)
    response = await service.client.get(f"/haendelser/{ids['incident']}/opgaver/stroem",
                                        params={"runder": rounds}, headers={DEMO: ids["editor"]})
    assert response.status == 400
    assert "runder" in await response.text()


@pytest.mark.parametrize("path, body, content_type", [
    ("/log-ind", b"\xff\xfe=\xff", "application/x-www-form-urlencoded"),
    ("/aktiver", b"title=\xff&csrf=x", "application/x-www-form-urlencoded"),
    ("/haendelser/{incident}/moede", b"handling=flyt&location=R%C3%A5dhuset%00",
     "application/x-www-form-urlencoded"),
    ("/log-ind", b"person", "multipart/form-data"),  # no boundary
    ("/log-ind", b'--x\r\nContent-Disposition: form-data; name="person"\r\n\r\n\xff\r\n--x--\r\n',
     "multipart/form-data; boundary=x"),
])
async def test_a_form_that_cannot_be_read_is_400(service, path, body, content_type):
    """Before the guard reads it for the CSRF token, signed in or not."""
    ids = await _scene(service)
    await demo_sign_in(service.client, ids["editor"])
    before = _counts(service.engine)
    response = await service.client.post(path.format(**ids), data=body,
                                         headers={"Content-Type": content_type},
                                         allow_redirects=False)
    assert response.status == 400, await response.text()
    assert "Formularen kan ikke læses" in await response.text()
    assert _counts(service.engine) == before
