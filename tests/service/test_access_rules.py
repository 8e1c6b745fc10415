"""Need-to-know access, walked over the whole route table: every route declares a rule, and
every route that is not public refuses an anonymous caller and a caller without the role; an
incident the caller may not see is 404 wherever it is named (incident, plan, plan version,
meeting, alert, delivery). A new route fails here until it has a rule and a test value."""
from __future__ import annotations

import re

import pytest
from aiohttp import web
from sqlmodel import Session, select

from bot import access
from bot.access import RouteWithoutRule, check_routes
from handleplaner import access as policy
from handleplaner.directory import queries as directory
from handleplaner.record.reads import reads
from notifications.models import Alert, Delivery

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting

# Routes anyone may call. Adding one here is a decision: it must be deliberate.
PUBLIC = {
    "GET /healthz", "GET /readyz", "GET /metrics",  # /metrics: internal networks or token
    "GET /api/openapi.json", "GET /{side}", "GET /log-ind", "POST /log-ind",
    "POST /log-ud", "GET /log-ind/microsoft", "GET /log-ind/microsoft/svar",
    "GET /statisk/{name}",  # the pages' style sheets and scripts
}
BOT = {"POST /api/messages"}


def _routes(app: web.Application):
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        yield f"{route.method} {route.resource.canonical}", route


async def _confidential_case(service) -> dict:
    """A confidential incident with a sent plan, a meeting, an alert and deliveries."""
    client = service.client
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers, json=shooting(
        noerrebro(service.engine), confidential=True))).json()
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi", "period_days": 14})).json()
    sent = await (await client.post(f"/api/plans/{plan['id']}/send", headers=headers,
                                    json={})).json()
    meeting = await (await client.post(f"/api/incidents/{created['id']}/meetings",
                                       headers=headers, json={"online": True})).json()
    with Session(service.engine) as session:
        alert = session.exec(select(Alert).where(Alert.incident_id == created["id"])).first()
        delivery = session.exec(select(Delivery).where(
            Delivery.incident_id == created["id"])).first()
    return {"incident_id": created["id"], "plan_id": plan["id"], "version_id": sent["version_id"],
            "number": 1, "key": plan["measures"][0]["key"], "meeting_id": meeting["id"],
            "alert_id": alert.id, "delivery_id": delivery.id, "fmt": "pdf",
            "variant": "sikkerby", "side": "om", "involved_id": 1}


def _path(canonical: str, values: dict) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1).split(":")[0]
        assert name in values, f"{canonical}: no test value for {{{name}}}; add one above"
        return str(values[name])
    return re.sub(r"\{([^}]+)\}", fill, canonical)


async def _call(service, method: str, path: str, headers: dict | None = None):
    response = await service.client.request(method, path, headers=headers or {}, json={},
                                            allow_redirects=False)
    await response.read()
    return response


def _someone(engine, case: dict, *, activator: bool, participant: bool, secretariat=False):
    with Session(engine) as session:
        for person in directory.list_people(session):
            if (directory.may_activate(session, person.id) == activator
                    and policy.is_participant(session, person.id, case["incident_id"]) == participant
                    and directory.is_secretariat(session, person.id) == secretariat):
                return person
    return None


def test_a_route_without_a_rule_stops_the_service():
    app = web.Application()

    async def handler(request):
        return web.Response()

    app.router.add_get("/ny", handler)
    with pytest.raises(RouteWithoutRule, match="GET /ny"):
        check_routes(app)


async def test_public_routes_are_exactly_the_listed_ones(service):
    app = service.client.server.app
    declared = {name for name, route in _routes(app)
                if not access.rule_of(route.handler).signed_in}
    assert declared == PUBLIC | BOT
    assert {name for name, route in _routes(app) if access.rule_of(route.handler).bot} == BOT


async def test_every_route_refuses_an_anonymous_caller(service):
    case = await _confidential_case(service)
    checked = 0
    for name, route in _routes(service.client.server.app):
        if name in PUBLIC or name in BOT:
            continue
        response = await _call(service, route.method, _path(route.resource.canonical, case))
        if route.resource.canonical.startswith("/api/"):
            assert response.status == 401, name
        else:
            assert response.status == 303, name
            assert response.headers["Location"].startswith("/log-ind"), name
        checked += 1
    assert checked > 50


async def test_a_confidential_incident_is_invisible_to_outsiders(service):
    """Not a participant and not the secretariat: 404 on every route that names the incident,
    also for someone who may activate beredskab, and the incident is missing from the lists."""
    case = await _confidential_case(service)
    outsiders = [_someone(service.engine, case, activator=True, participant=False),
                 _someone(service.engine, case, activator=False, participant=False)]
    assert all(outsiders)
    for outsider in outsiders:
        for name, route in _routes(service.client.server.app):
            if not access.rule_of(route.handler).incident:
                continue
            response = await _call(service, route.method, _path(route.resource.canonical, case),
                                   {DEMO: outsider.id})
            assert response.status == 404, (name, outsider.id)
        listed = await (await service.client.get("/api/incidents",
                                                 headers={DEMO: outsider.id})).json()
        assert case["incident_id"] not in [i["id"] for i in listed]
        page = await (await service.client.get("/", headers={DEMO: outsider.id})).text()
        assert "Skud ved boligområde" not in page


async def test_a_participant_sees_it_and_the_secretariat_too(service):
    case = await _confidential_case(service)
    participant = _someone(service.engine, case, activator=True, participant=True)
    with Session(service.engine) as session:
        editor = secretariat_member(service.engine)
        other_secretary = next(p for p in directory.secretariat_members(session)
                               if p.id != editor.id)
    for person in (participant, other_secretary):
        response = await service.client.get(f"/api/incidents/{case['incident_id']}",
                                            headers={DEMO: person.id})
        assert response.status == 200, person.id


async def test_every_route_refuses_a_caller_without_the_role(service):
    case = await _confidential_case(service)
    no_activator = _someone(service.engine, case, activator=False, participant=True) or \
        _someone(service.engine, case, activator=False, participant=False)
    no_secretary = _someone(service.engine, case, activator=True, participant=True)
    checked = 0
    for name, route in _routes(service.client.server.app):
        declared = access.rule_of(route.handler)
        if declared.role is None:
            continue
        caller = no_secretary if declared.role == access.SECRETARIAT_ROLE else no_activator
        response = await _call(service, route.method, _path(route.resource.canonical, case),
                               {DEMO: caller.id})
        may_see = True
        if declared.incident:
            with Session(service.engine) as session:
                may_see = policy.may_view(session, caller.id, case["incident_id"])
        assert response.status == (403 if may_see else 404), (name, caller.id)
        checked += 1
    assert checked > 15


async def test_every_read_of_an_incident_is_logged(service):
    case = await _confidential_case(service)
    editor = secretariat_member(service.engine)
    with Session(service.engine) as session:
        before = len(reads(session, case["incident_id"]))
    for path in (f"/api/incidents/{case['incident_id']}", f"/haendelser/{case['incident_id']}",
                 f"/api/plans/{case['plan_id']}/versions/1"):
        assert (await service.client.get(path, headers={DEMO: editor.id})).status == 200
    with Session(service.engine) as session:
        logged = reads(session, case["incident_id"])[before:]
    assert [(r.person_id, r.what) for r in logged] == [
        (editor.id, f"/api/incidents/{case['incident_id']}"),
        (editor.id, f"/haendelser/{case['incident_id']}"),
        (editor.id, f"/api/plans/{case['plan_id']}/versions/1")]


async def test_an_api_call_signed_in_by_cookie_needs_the_csrf_header(service):
    editor = secretariat_member(service.engine)
    await demo_sign_in(service.client, editor.id)
    data = shooting(noerrebro(service.engine))
    refused = await service.client.post("/api/incidents", json=data)
    assert refused.status == 403
    page = await (await service.client.get("/aktiver")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    accepted = await service.client.post("/api/incidents", json=data,
                                         headers={access.CSRF_HEADER: token})
    assert accepted.status == 201, await accepted.text()


async def test_the_secretariat_closes_an_incident_once(service):
    case = await _confidential_case(service)
    editor = secretariat_member(service.engine)
    url = f"/api/incidents/{case['incident_id']}/close"
    closed = await service.client.post(url, headers={DEMO: editor.id})
    assert closed.status == 200 and (await closed.json())["state"] == "afsluttet"
    again = await service.client.post(url, headers={DEMO: editor.id})
    assert again.status == 409 and "afslut" in (await again.json())["fejl"]
    with Session(service.engine) as session:
        from handleplaner import record
        assert record.count(session, case["incident_id"], "beredskab.afsluttet") == 1
