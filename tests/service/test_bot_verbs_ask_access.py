"""Every card verb the bot offers asks the access policy before it acts: an id of a confidential
incident the caller may not see is answered exactly as an id that does not exist - the same
answer and the same database statements - and nothing is written to that incident's record.
A verb added to ``bot.card_action.VERBS`` without a row here fails this test."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.card_action import VERBS
from handleplaner.commitments.models import Commitment
from notifications.models import Alert

from .bot_scene import (MISSING, UNKNOWN_TEAMS_USER, invoke, leader_only_in, record_of,
                        task_alert, two_incidents)
from .helpers import non_activator


def _activation_alert(engine, incident_id: int) -> int:
    with Session(engine) as session:
        return session.exec(select(Alert.id).where(Alert.incident_id == incident_id)
                            .order_by(Alert.id)).first()


# verb row -> (verb, the card's data naming ``key``: an id of the hidden incident, or MISSING)
def _rows(scene: dict) -> dict:
    version = scene["hidden_version"]
    press = {verb: (verb, lambda key: {"commitment_id": key, "version_id": version,
                                       "reason": "x", "hand_to": scene["owner"]})
             for verb in ("bekraeft", "afvis", "videregiv", "startet", "udfoert", "blokeret")}
    return {
        "opdater": ("opdater", lambda key: {"alert_id": key}),
        "kvitter": ("kvitter", lambda key: {"alert_id": key}),
        **{f"{verb} (opgave)": row for verb, row in press.items()},
        "godkend": ("godkend", lambda key: {"version_id": key, "comment": "x"}),
        "afvis (plan)": ("afvis", lambda key: {"version_id": key, "comment": "x"}),
        "kommentar": ("kommentar", lambda key: {"version_id": key, "comment": "x"}),
    }


ROWS = ["opdater", "kvitter", *[f"{v} (opgave)" for v in ("bekraeft", "afvis", "videregiv",
                                                          "startet", "udfoert", "blokeret")],
        "godkend", "afvis (plan)", "kommentar"]


def test_every_verb_has_a_row():
    assert {row.split(" ")[0] for row in ROWS} == set(VERBS)


def _hidden_key(row: str, scene: dict) -> int:
    if row == "opdater":
        return scene["task_alert"]
    if row == "kvitter":
        return scene["activation_alert"]
    if "(opgave)" in row:
        return scene["foreign"]
    return scene["hidden_version"]


@pytest.mark.parametrize("row", ROWS)
async def test_a_verb_on_a_hidden_incident_is_answered_as_a_missing_id(service, row):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    hidden_id = hidden["incident"]["id"]
    scene = {"hidden_version": hidden["version_id"], "owner": owner.id, "foreign": foreign.id,
             "task_alert": task_alert(service.engine, foreign),
             "activation_alert": _activation_alert(service.engine, hidden_id)}
    verb, data = _rows(scene)[row]
    key = _hidden_key(row, scene)
    record = record_of(service.engine, hidden_id)
    with Session(service.engine) as session:
        state = session.get(Commitment, foreign.id).state
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    outsiders = (leader.teams_user_id, non_activator(service.engine).teams_user_id,
                 UNKNOWN_TEAMS_USER)
    for outsider in outsiders:
        await invoke(service, outsider, verb, data(MISSING))  # the chat is kept once
        counted = []
        event.listen(service.engine, "before_cursor_execute", count)
        try:
            for id_ in (MISSING, key):
                statements.clear()
                counted.append((await invoke(service, outsider, verb, data(id_)),
                                len(statements)))
        finally:
            event.remove(service.engine, "before_cursor_execute", count)
        (missing, missing_statements), (answer, hidden_statements) = counted
        assert missing["statusCode"] in (403, 404), (outsider, missing)
        assert answer == missing, (row, outsider, answer)
        assert hidden_statements == missing_statements, (row, outsider, counted)
        assert hidden["incident"]["title"] not in str(answer)
    assert record_of(service.engine, hidden_id) == record
    with Session(service.engine) as session:
        assert session.get(Commitment, foreign.id).state == state

    # The one who may see it is answered otherwise: the policy, not the verb, said no.
    answer = await invoke(service, owner.teams_user_id, verb, data(key))
    assert answer != missing
