"""The door table: every door of the service - each route of the web application, each message
command the Teams bot understands and each card action (invoke verb) - is checked against the
table of who may use it, in docs/access-and-privacy.md under "## Dørene". The test reads the
table from the document, so the document and the test cannot drift apart.

The doors are enumerated, not listed: the routes from the application's router, the commands
and verbs from the branches of ``bot/agent.py``. A door without a row fails, naming the door.

Every door is called by every fixture against one confidential incident: its activator (a
member of the styregruppe), a recipient of its activation (a ledergruppe leader, responsible
for two of the plan's measures), a deputy reached by escalation, a member of another
ledergruppe, a member of a lokaludvalg, an id that is not in the directory, nobody (no session,
or for the bot no token) and the SSP Sekretariat. Cells: ``ja`` (let in: any answer but 401,
403, 404 or being sent to sign in), ``401``, ``403``, ``404`` or ``log ind`` (a page sends the
caller to sign in).
"""
from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlmodel import Session, select

from bot import access, agent, card_action
from handleplaner import access as policy
from handleplaner.clock import utcnow
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from notifications.escalation import escalate_due
from notifications.models import Alert, Delivery

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting

DOC = Path(__file__).resolve().parents[2] / "docs" / "access-and-privacy.md"
HEADING = "## Dørene"
FIXTURES = ("aktivator", "modtager", "suppleant", "anden ledergruppe", "lokaludvalg",
            "ukendt", "ingen session", "sekretariatet")
CELLS = {"ja", "401", "403", "404", "log ind"}
UNKNOWN_PERSON = "ukendt-person"  # not in the directory (the web's demo header)
UNKNOWN_TEAMS_USER = "00000000-0000-4000-8000-00000000d00e"  # not in the directory (Teams)

# What a card action calls, and what its door is called in the table.
CARD_DOORS = {"_refreshed": "kort", "_acknowledge": "varsel", "_press": "opgave",
              "_decide": "plan"}


# -- the table, from the document ---------------------------------------------------------------

def door_table() -> dict[str, dict[str, str]]:
    """The rows of every table under the heading: door -> fixture -> cell."""
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text, f"{DOC.name} has no '{HEADING}'"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, dict[str, str]] = {}
    columns: list[str] | None = None
    for line in section.splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if columns is None:
            columns = cells[1:]
            assert tuple(columns) == FIXTURES, f"the table's columns: {columns}"
            continue
        if set(cells[0]) <= {"-", ":", " "}:
            continue
        door = cells[0].strip("`")
        assert door not in rows, f"two rows for {door}"
        assert set(cells[1:]) <= CELLS and len(cells) == len(FIXTURES) + 1, line
        rows[door] = dict(zip(FIXTURES, cells[1:]))
    return rows


# -- the doors, enumerated ------------------------------------------------------------------------

def web_doors(app) -> dict[str, object]:
    return {f"{r.method} {r.resource.canonical}": r for r in app.router.routes()
            if r.method != "HEAD"}


def _branches(function) -> list[tuple[ast.expr | None, list[ast.stmt]]]:
    """The if/elif branches of a function's body: (condition, body); a final ``else`` comes as
    (None, body)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            found.append((node.test, node.body))
            if node.orelse and not (len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)):
                found.append((None, node.orelse))
    return found


def _literals(condition: ast.expr, name: str) -> list[str]:
    """The strings ``name`` is compared with in a condition (``==``, ``in (...)``, ``in NAME``)."""
    words = []
    for node in ast.walk(condition):
        if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Name)
                and node.left.id == name):
            continue
        for right in node.comparators:
            if isinstance(right, ast.Constant):
                words.append(right.value)
            elif isinstance(right, (ast.Tuple, ast.List, ast.Set)):
                words += [e.value for e in right.elts if isinstance(e, ast.Constant)]
            elif isinstance(right, ast.Name):
                value = getattr(agent, right.id, None) or getattr(card_action, right.id)
                words += [value] if isinstance(value, str) else list(value)
    return words


def _calls(body: list[ast.stmt]) -> list[str]:
    return [node.attr for statement in body for node in ast.walk(statement)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "self" and node.attr.startswith("_")]


def command_doors() -> dict[str, list[str]]:
    """``besked <command>`` -> every text that reaches that branch of the bot."""
    doors = {}
    for condition, _ in _branches(agent.BeredskabAgent.on_message_activity):
        words = _literals(condition, "command") if condition is not None else []
        if words:
            doors[f"besked {words[0] or '(tom)'}"] = words
    doors["besked (andet)"] = ["hvad nu"]  # anything else: the bot says what it understands
    return doors


def verb_doors() -> dict[str, tuple[str, str]]:
    """``<kind> <verb>`` -> (verb, what the bot calls), for every card action."""
    doors = {}
    branches = _branches(agent.BeredskabAgent.on_card_action)
    named = {verb for condition, _ in branches if condition is not None
             for verb in _literals(condition, "verb")}
    for condition, body in branches:
        handlers = [c for c in _calls(body) if c in CARD_DOORS] or _calls(body)
        if condition is not None:
            verbs = _literals(condition, "verb")
        else:  # the last branch takes every known verb no condition named
            verbs = [verb for verb in card_action.VERBS if verb not in named] if handlers else []
        if not verbs:
            continue
        assert handlers and handlers[0] in CARD_DOORS, \
            f"card action {verbs} calls {handlers}: name its door in CARD_DOORS"
        for verb in verbs:
            doors[f"{CARD_DOORS[handlers[0]]} {verb}"] = (verb, handlers[0])
    return doors


def test_every_door_has_a_row_and_every_row_a_door(tmp_path):
    from bot.app import create_app
    from bot.services import demo_settings

    settings = demo_settings("http://127.0.0.1:9", public_url="http://127.0.0.1:9",
                             database_url=f"sqlite:///{tmp_path / 'door.db'}")
    doors = set(web_doors(create_app(settings, start_worker=False))) | set(command_doors()) \
        | set(verb_doors())
    table = door_table()
    missing, stale = sorted(doors - set(table)), sorted(set(table) - doors)
    assert not missing, f"doors without a row in {DOC.name} ({HEADING}): {missing}"
    assert not stale, f"rows in {DOC.name} naming no door: {stale}"


# -- the case: one confidential incident and the fixtures ---------------------------------------

def _first(engine, wanted) -> object:
    with Session(engine) as session:
        for person in directory.list_people(session):
            if person.teams_user_id and wanted(session, person):
                return person
    raise AssertionError("the demo organisation has nobody for a fixture")


def _kinds(session, person) -> set[str]:
    return {g.kind for g in directory.groups_of(session, person.id)}


async def _confidential_case(service) -> dict:
    engine, client = service.engine, service.client
    editor = secretariat_member(engine)
    activator = _first(engine, lambda s, p: "styregruppe" in _kinds(s, p)
                       and not directory.is_secretariat(s, p.id))
    created = await client.post("/api/incidents", headers={DEMO: activator.id}, json=shooting(
        noerrebro(engine), confidential=True, title="Fortroligt: dørtabellen"))
    assert created.status == 201, await created.text()
    incident = await created.json()
    incident_id, headers = incident["id"], {DEMO: editor.id}
    await service.services.worker.run_until_idle(timeout=120)
    with Session(engine) as session:
        activation = session.exec(select(Alert).where(Alert.incident_id == incident_id)).first()
        recipients = set(session.exec(select(Delivery.person_id).where(
            Delivery.alert_id == activation.id)))
    plan = await (await client.post(f"/api/incidents/{incident_id}/plan", headers=headers,
                                    json={"template": "skyderi", "period_days": 14})).json()
    per_authority = Counter(m["authority"] for m in plan["measures"])
    recipient = _first(engine, lambda s, p: p.id in recipients and p.id != activator.id
                       and not directory.is_secretariat(s, p.id)
                       and per_authority[p.authority_code] >= 2)
    own = [m["key"] for m in plan["measures"] if m["authority"] == recipient.authority_code][:2]
    for key in own:
        changed = await client.patch(f"/api/plans/{plan['id']}/measures/{key}", headers=headers,
                                     json={"responsible": recipient.id})
        assert changed.status == 200, await changed.text()
    sent = await (await client.post(f"/api/plans/{plan['id']}/send", headers=headers,
                                    json={"rule": "flertal"})).json()
    meeting = await (await client.post(f"/api/incidents/{incident_id}/meetings", headers=headers,
                                       json={"online": True})).json()
    await service.services.worker.run_until_idle(timeout=120)

    # Nobody acknowledges: the activation escalates to the recipients' deputies.
    moment, deputies = utcnow(), set()
    for _ in range(12):
        moment += timedelta(minutes=11)
        escalate_due(engine, moment)
        with Session(engine) as session:
            deputies = set(session.exec(select(Delivery.person_id).where(
                Delivery.alert_id == activation.id, Delivery.escalation_level == 2)))
        if deputies - recipients:
            break
    deputy = _first(engine, lambda s, p: p.id in deputies - recipients
                    and not directory.is_secretariat(s, p.id))

    def outsider(s, p):
        return not policy.is_participant(s, p.id, incident_id) and not \
            directory.is_secretariat(s, p.id)

    # Three people the incident concerns: one each for the two who may remove them, one that
    # stays for everyone else's attempt.
    involved_ids = []
    for name in ("Ung A", "Ung B", "Ung C"):
        added = await client.post(f"/api/incidents/{incident_id}/involved", headers=headers,
                                  json={"name": name, "role": "ung"})
        assert added.status == 201, await added.text()
        involved_ids.append((await added.json())["id"])
    other_leader = _first(engine, lambda s, p: "ledergruppe" in _kinds(s, p) and outsider(s, p))
    lokaludvalg = _first(engine, lambda s, p: _kinds(s, p) == {"lokaludvalg"} and outsider(s, p))
    with Session(engine) as session:
        mine = list(session.exec(select(Commitment).where(
            Commitment.incident_id == incident_id, Commitment.responsible_id == recipient.id)
            .order_by(Commitment.id)))
        task_alert = session.exec(select(Alert.id).where(
            Alert.incident_id == incident_id, Alert.kind == "opgaver")).first()
        delivery = session.exec(select(Delivery.id).where(
            Delivery.incident_id == incident_id)).first()
        colleague = _first(engine, lambda s, p: p.authority_code == recipient.authority_code
                           and p.id not in {recipient.id, deputy.id} and "ledergruppe"
                           in _kinds(s, p))
    assert len(mine) >= 2
    people = {"aktivator": activator, "modtager": recipient, "suppleant": deputy,
              "anden ledergruppe": other_leader, "lokaludvalg": lokaludvalg,
              "sekretariatet": editor}
    return {"people": people, "reference": incident["reference"], "commitments": mine[:2],
            "colleague": colleague.id, "activation": activation.id,
            "values": {"incident_id": incident_id, "plan_id": plan["id"], "number": 1,
                       "key": own[0], "version_id": sent["version_id"],
                       "meeting_id": meeting["id"], "alert_id": activation.id,
                       "delivery_id": delivery, "fmt": "html", "variant": "sikkerby",
                       "side": "om", "name": "beredskab.css", "involved_id": involved_ids[2]},
            "values_for": {"aktivator": {"involved_id": involved_ids[0]},
                           "sekretariatet": {"involved_id": involved_ids[1]}},
            "task_alert": task_alert}


# -- calling a web door ---------------------------------------------------------------------------

QUERIES = {"GET /haendelser/{incident_id}/opgaver/stroem": "?runder=1"}
# Doors that end something (the session, the meeting, the incident) or reach new people (an
# alert, a meeting, a plan sent again): called after all others, in this order.
LAST = ("POST /api/incidents/{incident_id}/alerts", "POST /api/incidents/{incident_id}/meetings",
        "POST /api/plans/{plan_id}/send", "POST /api/plans/{plan_id}/versions/{number}/sikkerby",
        "DELETE /api/plans/{plan_id}/measures/{key}", "POST /api/meetings/{meeting_id}/cancel",
        "POST /api/incidents/{incident_id}/close", "POST /haendelser/{incident_id}/afslut",
        "POST /log-ud")


def _path(canonical: str, values: dict) -> str:
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: str(values[m.group(1)]), canonical)


def _cell(response: aiohttp.ClientResponse, *, public: bool = False) -> str:
    """What the caller got; on a public route (signing out) going to the sign-in page is no
    refusal."""
    if response.status in (401, 403, 404):
        return str(response.status)
    if not public and response.status == 303 and response.headers.get(
            "Location", "").startswith("/log-ind"):
        return "log ind"
    return "ja"


class Caller:
    """One fixture's browser: its own cookies, signed in through the demo page."""

    def __init__(self, service, person_id: str | None, *, header: str | None = None):
        self.session = aiohttp.ClientSession(base_url=service.base,
                                             cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.person_id, self.headers, self.csrf = person_id, {}, ""
        if header:
            self.headers[DEMO] = header

    async def sign_in(self):
        if self.person_id:
            signed = await demo_sign_in(self.session, self.person_id, allow_redirects=False)
            assert signed.status == 303
            page = await (await self.session.get("/")).text()
            self.csrf = page.split('name="csrf" value="')[1].split('"')[0]

    async def call(self, method: str, canonical: str, path: str, *, public: bool) -> str:
        headers = dict(self.headers, **({"X-CSRF-Token": self.csrf} if self.csrf else {}))
        body: dict = {}
        if method != "GET":
            if canonical == "/log-ind":  # the sign-in page's own token, and no person
                page = await (await self.session.get("/log-ind")).text()
                token = page.split('name="csrf" value="')[1].split('"')[0]
                body["data"] = {"csrf": token, "person": ""}
            elif path.startswith("/api/"):
                body["json"] = {}
            else:
                body["data"] = {"csrf": self.csrf}
        async with self.session.request(method, path, headers=headers, allow_redirects=False,
                                        **body) as response:
            await response.read()
            return _cell(response, public=public)


# -- calling the bot ------------------------------------------------------------------------------

def _teams_id(case: dict, fixture: str) -> str:
    person = case["people"].get(fixture)
    return person.teams_user_id if person else UNKNOWN_TEAMS_USER


async def _unsigned(service) -> str:
    """The bot endpoint without the Bot Framework's token: what 'no session' gets there."""
    response = await service.client.post("/api/messages", json={"type": "message", "text": "x"})
    await response.read()
    return _cell(response)


async def _command(service, case: dict, fixture: str, text: str) -> str:
    if fixture == "ingen session":
        return await _unsigned(service)
    user = _teams_id(case, fixture)
    status, _ = await service.emulator.send_to_bot(user, text=text)
    assert status in (200, 201, 202), status
    reply = service.emulator.chats[user][-1]["activity"]
    shown = str(reply.get("text", "")) + str(reply.get("attachments", ""))
    person = case["people"].get(fixture)
    if person is not None:
        with Session(service.engine) as session:
            may_see = policy.may_view(session, person.id, case["values"]["incident_id"])
        if not may_see:  # what a command shows keeps to the incidents the person may see
            assert case["reference"] not in shown, (fixture, text)
    return "403" if "findes ikke i SSP Beredskabs organisationsoversigt" in shown else "ja"


def _card_data(case: dict, door: str, verb: str, kind: str) -> dict:
    values = case["values"]
    if kind == "_refreshed":
        return {"alert_id": case["task_alert"]}
    if kind == "_acknowledge":
        return {"alert_id": case["activation"]}
    if kind == "_decide":
        return {"version_id": values["version_id"], "comment": "Set fra dørtabellen."}
    first, second = case["commitments"]
    chosen = second if verb == "videregiv" else first
    return {"commitment_id": chosen.id, "version_id": values["version_id"],
            f"grund_{chosen.id}": "Afprøvet fra dørtabellen.",
            f"til_{chosen.id}": case["colleague"]}


# The responsible presses a commitment through its states in this order (afvist, bekræftet,
# i gang, blokeret, udført; the second one is handed over).
PRESS_ORDER = ("afvis", "bekraeft", "startet", "blokeret", "udfoert", "videregiv")


async def _card(service, case: dict, fixture: str, door: str, verb: str, kind: str) -> str:
    if fixture == "ingen session":
        return await _unsigned(service)
    status, answer = await service.emulator.send_to_bot(
        _teams_id(case, fixture), invoke_value={"action": {
            "type": "Action.Execute", "verb": verb, "data": _card_data(case, door, verb, kind)}})
    assert status == 200, (door, fixture, status, answer)
    code = answer["statusCode"]
    return str(code) if code in (401, 403, 404) else "ja"


# -- the walk -----------------------------------------------------------------------------------

async def test_every_door_answers_as_its_row_says(service, record_property):
    table = door_table()
    case = await _confidential_case(service)
    observed: dict[str, dict[str, str]] = {}

    # The bot first: a plan sent again by the web walk would make the cards' version an old one.
    for door, texts in command_doors().items():
        for fixture in FIXTURES:
            cells = {await _command(service, case, fixture, text) for text in texts}
            assert len(cells) == 1, (door, fixture, cells)
            observed.setdefault(door, {})[fixture] = cells.pop()
    verbs = verb_doors()
    order = sorted(verbs, key=lambda d: (verbs[d][1] == "_press",
                                         PRESS_ORDER.index(verbs[d][0])
                                         if verbs[d][1] == "_press" else 0))
    for door in order:
        verb, kind = verbs[door]
        # The responsible presses last, after everyone else was refused.
        for fixture in sorted(FIXTURES, key=lambda f: f == "modtager"):
            observed.setdefault(door, {})[fixture] = await _card(service, case, fixture, door,
                                                                 verb, kind)

    routes = web_doors(service.client.server.app)
    callers = {fixture: Caller(service, case["people"][fixture].id)
               for fixture in case["people"]}
    callers["ukendt"] = Caller(service, None, header=UNKNOWN_PERSON)
    callers["ingen session"] = Caller(service, None)
    try:
        for caller in callers.values():
            await caller.sign_in()
        walk = sorted(routes, key=lambda d: LAST.index(d) + 1 if d in LAST else 0)
        for door in walk:
            route = routes[door]
            for fixture in FIXTURES:
                values = dict(case["values"], **case["values_for"].get(fixture, {}))
                path = _path(route.resource.canonical, values) + QUERIES.get(door, "")
                observed.setdefault(door, {})[fixture] = await callers[fixture].call(
                    route.method, route.resource.canonical, path,
                    public=not access.rule_of(route.handler).signed_in)
    finally:
        for caller in callers.values():
            await caller.session.close()

    wrong = []
    for door, cells in sorted(observed.items()):
        row = table.get(door)
        if row != cells:
            wrong.append(f"| `{door}` | " + " | ".join(cells[f] for f in FIXTURES) + " |"
                         + ("   (no row)" if row is None else
                            "   (the table: " + " | ".join(row[f] for f in FIXTURES) + ")"))
    n_routes, n_commands, n_verbs = len(routes), len(command_doors()), len(verbs)
    total = n_routes + n_commands + n_verbs
    line = (f"door table: {n_routes} routes + {n_commands} commands + {n_verbs} verbs = "
            f"{total} doors × {len(FIXTURES)} fixtures")
    record_property("door table", line)
    print(line)
    assert not wrong, "doors that do not answer as the table says (observed):\n" + "\n".join(wrong)

