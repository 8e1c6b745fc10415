"""One access policy at every door (handleplaner/access.py): the Teams card actions, the
commitment board and the plan decisions answer an id of an incident the caller may not see -
or of another incident than the one named - exactly as an id that does not exist, write nothing
to any incident's record, and take the same database statements to say so."""
from __future__ import annotations

from sqlalchemy import event
from sqlmodel import Session, select

from handleplaner import access as policy
from handleplaner import record
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.plans import service as plans
from handleplaner.plans.models import ApprovalDecision

from .bot_scene import (MISSING, UNKNOWN_TEAMS_USER, invoke, leader_only_in, record_of,
                        task_alert, two_incidents)
from .helpers import DEMO, demo_sign_in, non_activator


def _entries(engine, incident_id: int) -> int:
    return len(record_of(engine, incident_id))


# The card refresh ---------------------------------------------------------------------------

async def test_card_refresh_answers_only_those_who_may_see_the_incident(service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    alert_id = task_alert(service.engine, foreign)
    title = hidden["incident"]["title"]
    lokaludvalg = non_activator(service.engine)
    assert lokaludvalg.teams_user_id

    # The leader responsible there sees the card as it stands.
    answer = await invoke(service, owner.teams_user_id, "opdater", {"alert_id": alert_id})
    assert answer["statusCode"] == 200 and foreign.title in str(answer["value"])

    # Anyone else: the answer for an alert that does not exist, and nothing of the incident.
    missing = await invoke(service, owner.teams_user_id, "opdater", {"alert_id": MISSING})
    assert missing["statusCode"] == 404
    for outsider in (leader.teams_user_id, lokaludvalg.teams_user_id, UNKNOWN_TEAMS_USER):
        answer = await invoke(service, outsider, "opdater", {"alert_id": alert_id})
        assert answer == missing, outsider
        assert title not in str(answer) and foreign.title not in str(answer)


async def test_acknowledging_and_deciding_on_a_hidden_incidents_card_is_as_if_it_did_not_exist(
        service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    alert_id = task_alert(service.engine, foreign)
    before = _entries(service.engine, hidden["incident"]["id"])

    missing = await invoke(service, leader.teams_user_id, "kvitter", {"alert_id": MISSING})
    answer = await invoke(service, leader.teams_user_id, "kvitter", {"alert_id": alert_id})
    assert missing["statusCode"] == 404 and answer == missing

    # Deciding on the confidential incident's version: as on a version that does not exist
    # (today the answer told the version exists: "Kun styregruppens medlemmer ...").
    for verb in ("godkend", "afvis", "kommentar"):
        missing = await invoke(service, leader.teams_user_id, verb,
                                {"version_id": MISSING, "comment": "x"})
        answer = await invoke(service, leader.teams_user_id, verb,
                               {"version_id": hidden["version_id"], "comment": "x"})
        assert missing["statusCode"] == 404 and answer == missing, verb
        unknown = await invoke(service, UNKNOWN_TEAMS_USER, verb,
                                {"version_id": hidden["version_id"], "comment": "x"})
        assert unknown["statusCode"] != 200
    assert _entries(service.engine, hidden["incident"]["id"]) == before


# Commitment ids -----------------------------------------------------------------------------

async def _board_press(service, incident_id: int, commitment_id: int) -> str:
    client = service.client
    page = await (await client.get(f"/haendelser/{incident_id}/opgaver")).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    response = await client.post(f"/haendelser/{incident_id}/opgaver", allow_redirects=False,
                                 data={"csrf": csrf, "commitment_id": str(commitment_id),
                                       "handling": "bekraeft"})
    assert response.status == 303
    return response.headers["Location"].replace(f"opgave={commitment_id}", "opgave=N")


async def test_a_foreign_commitment_id_on_the_board_is_as_if_it_did_not_exist(service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    before = _entries(service.engine, hidden["incident"]["id"])
    own_before = _entries(service.engine, own["incident"]["id"])
    await demo_sign_in(service.client, leader.id)

    missing = await _board_press(service, own["incident"]["id"], MISSING)
    answer = await _board_press(service, own["incident"]["id"], foreign.id)
    assert answer == missing
    assert "findes+ikke" in answer or "findes%20ikke" in answer
    for leaked in (foreign.title, owner.name):
        assert leaked.split()[0] not in answer
    assert _entries(service.engine, hidden["incident"]["id"]) == before
    assert _entries(service.engine, own["incident"]["id"]) == own_before
    with Session(service.engine) as session:
        assert session.get(Commitment, foreign.id).state == foreign.state


async def test_a_foreign_commitment_pressed_through_the_bot_is_as_if_it_did_not_exist(service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    before = _entries(service.engine, hidden["incident"]["id"])
    for verb in ("bekraeft", "udfoert", "afvis"):
        missing = await invoke(service, leader.teams_user_id, verb,
                                {"commitment_id": MISSING, "version_id": own["version_id"],
                                 "reason": "x"})
        answer = await invoke(service, leader.teams_user_id, verb,
                               {"commitment_id": foreign.id, "version_id": own["version_id"],
                                "reason": "x"})
        assert answer == missing, verb
        assert owner.name not in str(answer) and foreign.title not in str(answer)
        stranger = await invoke(service, UNKNOWN_TEAMS_USER, verb,
                                 {"commitment_id": foreign.id,
                                  "version_id": hidden["version_id"]})
        assert foreign.title not in str(stranger) and stranger["statusCode"] != 200
    assert _entries(service.engine, hidden["incident"]["id"]) == before
    with Session(service.engine) as session:
        assert record.count(session, hidden["incident"]["id"], "opgave.tryk_afvist") == 0
        assert session.get(Commitment, foreign.id).state == foreign.state


# Plan decisions -----------------------------------------------------------------------------

async def test_a_plan_decision_under_another_incidents_url_is_refused_as_missing(service):
    own, hidden = await two_incidents(service)
    client = service.client
    with Session(service.engine) as session:
        member = next(p for p in plans.styregruppe(session)
                      if policy.may_view(session, p.id, own["incident"]["id"]))
    await demo_sign_in(client, member.id)
    url = f"/haendelser/{own['incident']['id']}/plan"
    page = await (await client.get(url)).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]

    async def decide(version_id):
        response = await client.post(url, allow_redirects=False, data={
            "csrf": csrf, "handling": "beslut", "version_id": str(version_id),
            "decision": "godkend", "comment": ""})
        return response.status, await response.text()

    missing_status, missing_page = await decide(MISSING)
    status, body = await decide(hidden["version_id"])
    assert status == missing_status != 303
    assert "versionen findes ikke" in body and "versionen findes ikke" in missing_page
    with Session(service.engine) as session:
        assert not session.exec(select(ApprovalDecision).where(
            ApprovalDecision.version_id == hidden["version_id"])).all()
    # Under its own incident's URL the same decision is taken.
    status, _ = await decide(own["version_id"])
    assert status == 303


# Time ---------------------------------------------------------------------------------------

async def test_a_hidden_and_a_missing_incident_run_the_same_statements(service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    async def run(path: str) -> tuple[int, int]:
        statements.clear()
        response = await service.client.get(path, headers={DEMO: leader.id})
        await response.read()
        return response.status, len(statements)

    event.listen(service.engine, "before_cursor_execute", count)
    try:
        hidden_id = hidden["incident"]["id"]
        for paths in ((f"/api/incidents/{hidden_id}", f"/api/incidents/{MISSING}"),
                      (f"/haendelser/{hidden_id}", f"/haendelser/{MISSING}"),
                      (f"/haendelser/{hidden_id}/opgaver", f"/haendelser/{MISSING}/opgaver"),
                      (f"/api/plans/{hidden['plan']['id']}/versions/1",
                       f"/api/plans/{MISSING}/versions/1")):
            seen, unseen = [await run(path) for path in paths]
            assert seen[0] == unseen[0] == 404, paths
            assert seen[1] == unseen[1] > 0, (paths, seen, unseen)

        # The card refresh in Teams, by a leader and by an id not in the directory.
        alert_id = task_alert(service.engine, foreign)
        for teams_user_id in (leader.teams_user_id, UNKNOWN_TEAMS_USER):
            counted = []
            for key in (alert_id, MISSING):
                statements.clear()
                answer = await invoke(service, teams_user_id, "opdater", {"alert_id": key})
                counted.append((answer["statusCode"], len(statements)))
            assert counted[0] == counted[1] and counted[0][0] == 404 and counted[0][1] > 0, counted
    finally:
        event.remove(service.engine, "before_cursor_execute", count)


# The policy itself ---------------------------------------------------------------------------

async def test_ids_are_resolved_through_their_incident(service):
    from handleplaner.commitments.service import record_refusal
    from handleplaner.storage import transaction

    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    own_id, hidden_id = own["incident"]["id"], hidden["incident"]["id"]
    with Session(service.engine) as session:
        assert policy.commitment_in(session, hidden_id, foreign.id).id == foreign.id
        for incident_id, commitment_id in ((own_id, foreign.id), (own_id, MISSING),
                                           (own_id, 2**40), (own_id, None)):
            assert policy.commitment_in(session, incident_id, commitment_id) is None
        assert policy.version_in(session, hidden_id, hidden["version_id"]).id == \
            hidden["version_id"]
        assert policy.version_in(session, own_id, hidden["version_id"]) is None
        # Visible to the leader responsible there, not to the leader of the other incident,
        # nor to no one.
        assert policy.visible_commitment(session, owner.id, foreign.id).id == foreign.id
        assert policy.visible_commitment(session, leader.id, foreign.id) is None
        assert policy.visible_commitment(session, None, foreign.id) is None
        assert policy.visible_version(session, leader.id, hidden["version_id"]) is None
        assert policy.may_act(session, owner.id, hidden_id)
        assert not policy.may_act(session, owner.id, hidden_id, policy.SECRETARIAT_ROLE) or \
            directory.is_secretariat(session, owner.id)
        assert not policy.may_act(session, leader.id, hidden_id)
    before = _entries(service.engine, hidden_id)
    with transaction(service.engine) as session:  # a refusal noted under the wrong incident
        record_refusal(session, incident_id=own_id, commitment_id=foreign.id,
                       person_id=leader.id, action="bekraeft", via="web")
    assert _entries(service.engine, hidden_id) == before
