"""The incident page: the timeline of what happened, in order, and the live commitment board
(server-rendered, updated through server-sent events, announced politely)."""
from __future__ import annotations

import asyncio
import json
import re

from sqlmodel import Session, select

from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.plans import service as plans
from notifications.timeline import timeline

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting
from .page_parts import Page


async def sign_in(client, person_id: str) -> str:
    """Sign in on the web; the form token of the pages."""
    await demo_sign_in(client, person_id)
    page = await (await client.get("/")).text()
    return page.split('name="csrf" value="')[1].split('"')[0]


async def approved_plan(service):
    """Activated (API), plan drafted and sent, approved by the chair; the worker has run."""
    client = service.client
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers,
                                       json=shooting(noerrebro(service.engine)))).json()
    await service.services.worker.run_until_idle(timeout=120)
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    sent = await (await client.post(f"/api/plans/{plan['id']}/send", headers=headers,
                                    json={})).json()
    with Session(service.engine) as session:
        chair = plans.styregruppe_chair(session)
    response = await client.post(f"/api/plan-versions/{sent['version_id']}/decisions",
                                 headers={DEMO: chair}, json={"decision": "godkend"})
    assert response.status in (200, 201), await response.text()
    await service.services.worker.run_until_idle(timeout=120)
    return editor, created, plan


def mine(engine, plan_id: int) -> tuple[str, list[int]]:
    """A leader with commitments, and theirs."""
    with Session(engine) as session:
        rows = session.exec(select(Commitment).where(Commitment.plan_id == plan_id,
                                                     Commitment.responsible_id.is_not(None))
                            .order_by(Commitment.id)).all()
    leader = rows[0].responsible_id
    return leader, [c.id for c in rows if c.responsible_id == leader]


def in_order(found: list[str], expected: list[str]) -> bool:
    position = 0
    for label in found:
        if position < len(expected) and label == expected[position]:
            position += 1
    return position == len(expected)


async def test_the_timeline_tells_what_happened_in_order(service):
    client = service.client
    editor, created, plan = await approved_plan(service)
    leader, commitments = mine(service.engine, plan["id"])
    csrf = await sign_in(client, leader)
    response = await client.post(f"/haendelser/{created['id']}/opgaver", allow_redirects=False,
                                 data={"csrf": csrf, "commitment_id": str(commitments[0]),
                                       "handling": "bekraeft", "fra": "haendelse"})
    assert response.status == 303
    assert response.headers["Location"] == f"/haendelser/{created['id']}#opgaver"

    await sign_in(client, editor.id)
    html = await (await client.get(f"/haendelser/{created['id']}")).text()
    section = html.split('<ol class="tidslinje"')[1].split("</ol>")[0]
    labels = re.findall(r'class="trin-navn">([^<]+)<', section)
    expected = ["Beredskab aktiveret", "Aktiveringsvarsel sendt", "Handleplan udarbejdet",
                "Version sendt til godkendelse", "Handleplan til godkendelse sendt",
                "Opgaver i handleplanen sendt", "Godkendelse", "Handleplan godkendt",
                "Opgave bekræftet"]
    assert in_order(labels, expected), labels
    # Routine entries stay in the full record, not on the timeline.
    assert "Varsel leveret til" not in section and "Varsel leveret til" in html

    # Each step: a machine-readable time, the time in Copenhagen, who, what.
    items = section.split("<li")[1:]
    activation = next(i for i in items if "Beredskab aktiveret" in i)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+\+00:00">\d\d\.\d\d\.\d{4} kl\. \d\d:\d\d</time>',
                     activation), activation
    assert editor.name in activation and "Skyderi" in activation
    confirmed = next(i for i in items if "Opgave bekræftet" in i)
    with Session(service.engine) as session:
        assert directory.get_person(session, leader).name in confirmed
        steps = timeline(session, created["id"])
    # The activation alert with how many got it and acknowledged it (Akut must be acknowledged).
    alert = next(s for s in steps if s.label == "Aktiveringsvarsel sendt")
    assert alert.counts and alert.counts.recipients > 0
    assert alert.counts.delivered == alert.counts.recipients and alert.counts.acknowledged == 0
    assert alert.counts.text() in html
    assert [s.seq for s in steps] == sorted(s.seq for s in steps)
    assert steps[0].at <= steps[-1].at


async def test_the_incident_page_holds_the_live_board(service):
    client = service.client
    editor, created, plan = await approved_plan(service)
    leader, commitments = mine(service.engine, plan["id"])
    incident = f"/haendelser/{created['id']}"
    csrf = await sign_in(client, leader)

    html = await (await client.get(incident)).text()
    page = Page(html)
    board = page.by_id("tavle")
    assert board["data-stroem"] == f"{incident}/opgaver/stroem"
    assert board["data-kilde"] == f"{incident}/opgaver/tavle?fra=haendelse"
    status = page.by_id(board["data-status"])
    assert status["aria-live"] == "polite" and status["role"] == "status"
    assert '<script src="/statisk/live.js">' in html  # the live script; the board is server-rendered
    for commitment_id in commitments:
        assert f'data-id="{commitment_id}"' in html
    assert "Afventer bekræftelse" in page.texts["tavle"]
    assert ("fra", "haendelse") in page.hidden()  # the buttons come back to this page

    # A refusal is shown by the commitment's field, on the incident page.
    response = await client.post(f"{incident}/opgaver", allow_redirects=False, data={
        "csrf": csrf, "commitment_id": str(commitments[0]), "handling": "afvis", "grund": "",
        "fra": "haendelse"})
    location = response.headers["Location"]
    assert location.startswith(f"{incident}?opgavefejl=") and location.endswith("#opgaver")
    page = Page(await (await client.get(location)).text())
    assert "begrundelse" in page.described_error(f"grund-{commitments[0]}").lower()
    assert page.by_id(f"grund-{commitments[0]}")["aria-invalid"] == "true"

    # The stream tells of the change; the fragment the script fetches shows it.
    stream = await client.get(f"{incident}/opgaver/stroem?runder=1")
    first = json.loads((await stream.read()).decode().split("data: ", 1)[1])
    assert {r["state"] for r in first if r["commitment_id"] in commitments} == {"afventer"}
    response = await client.post(f"{incident}/opgaver", allow_redirects=False, data={
        "csrf": csrf, "commitment_id": str(commitments[0]), "handling": "bekraeft",
        "fra": "haendelse"})
    assert response.status == 303
    fragment = await client.get(f"{incident}/opgaver/tavle?fra=haendelse")
    text = await fragment.text()
    assert fragment.status == 200 and "<html" not in text and text.lstrip().startswith("<div id=\"tavle\"")
    part = Page(text)
    row = text.split(f'data-id="{commitments[0]}"')[1].split("</tr>")[0]
    assert "Bekræftet" in row
    assert "1 bekræftet" in part.by_id("tavle")["data-resume"]  # what screen readers hear
    # The same board on its own page, with the same live script.
    own = await (await client.get(f"{incident}/opgaver")).text()
    assert 'id="tavle-status" role="status" aria-live="polite"' in own
    assert '<script src="/statisk/live.js">' in own
    assert "EventSource" in await (await client.get("/statisk/live.js")).text()


async def test_the_stream_sends_the_board_again_when_it_changes(service, monkeypatch):
    from bot import commitment_pages

    monkeypatch.setattr(commitment_pages, "STREAM_POLL_SECONDS", 0.1)
    client = service.client
    editor, created, plan = await approved_plan(service)
    leader, commitments = mine(service.engine, plan["id"])
    incident = f"/haendelser/{created['id']}"
    csrf = await sign_in(client, leader)

    stream = await client.get(f"{incident}/opgaver/stroem?runder=2")
    events = []

    async def next_event():
        while True:
            block = (await stream.content.readuntil(b"\n\n")).decode()
            if block.startswith("event: tavle"):
                return json.loads(block.split("data: ", 1)[1])

    events.append(await asyncio.wait_for(next_event(), 10))
    response = await client.post(f"{incident}/opgaver", allow_redirects=False, data={
        "csrf": csrf, "commitment_id": str(commitments[0]), "handling": "bekraeft"})
    assert response.status == 303 and response.headers["Location"] == f"{incident}/opgaver"
    events.append(await asyncio.wait_for(next_event(), 10))
    before, after = ({r["commitment_id"]: r["state"] for r in e} for e in events)
    assert before[commitments[0]] == "afventer" and after[commitments[0]] == "bekraeftet"


def test_reminders_and_escalations_are_named_on_the_timeline():
    from handleplaner.clock import utcnow
    from notifications.models import Alert
    from notifications.timeline import AlertCounts, _alert_label

    def alert(kind: str, key: str) -> Alert:
        return Alert(id=1, incident_id=1, kind=kind, severity="akut", title="", body="",
                     created_at=utcnow(), created_by="system", dedupe_key=key)

    assert _alert_label(alert("besked", "opgave:7:trin:1")) == ("paamindelse", "Påmindelse om opgave")
    assert _alert_label(alert("besked", "opgave:7:trin:2")) == ("eskalering", "Opgave eskaleret")
    assert _alert_label(alert("besked", "opgave:7:forfalden")) == ("eskalering", "Opgave forfalden")
    assert _alert_label(alert("moede", "moede:1:0"))[1] == "Indkaldelse til beredskabsmøde sendt"
    assert _alert_label(alert("normaldrift", "varsel:abc"))[1] == "Normaldrift sendt"
    assert AlertCounts(recipients=1, delivered=1, acknowledged=1, requires_ack=True).text() == \
        "1 modtager · 1 leveret · 1 kvitteret"


async def test_without_javascript_the_page_reloads_itself_only_when_asked(service):
    """WCAG 2.2.1: no reload the reader did not ask for; one link turns it on, one off."""
    client = service.client
    editor = secretariat_member(service.engine)
    created = await (await client.post("/api/incidents", headers={DEMO: editor.id},
                                       json=shooting(noerrebro(service.engine)))).json()
    await sign_in(client, editor.id)
    incident = f"/haendelser/{created['id']}"  # the worker has not run: messages are queued

    html = await (await client.get(incident)).text()
    assert 'http-equiv="refresh"' not in html
    assert f'href="{incident}?opdater=1"' in html
    asked = await (await client.get(f"{incident}?opdater=1")).text()
    head = asked.split("</head>")[0]
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in head
    assert "Stop den automatiske opdatering" in asked and f'href="{incident}"' in asked
