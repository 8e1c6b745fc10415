"""Malformed input at the Teams bot's door never gives a server error: a body that is not an
activity is 400 with a Danish error, and a card action's malformed id is answered exactly as an
id that does not exist; nothing is written."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory

from .bot_scene import (MISSING, activity, entry_count, invoke, leader_only_in, post_activity,
                        post_raw, record_of, two_incidents)
from .helpers import secretariat_member

DEEP = b"[" * 5000 + b"]" * 5000

NOT_AN_ACTIVITY = [b"[]", b"[1, 2]", b'"x"', b"1", b"null", b"true", b"", b"{", b"\xff\xfe",
                   b'{"type": "message", "text": "\xff"}', DEEP]


@pytest.mark.parametrize("body", NOT_AN_ACTIVITY, ids=[repr(b[:20]) for b in NOT_AN_ACTIVITY])
async def test_a_signed_body_that_is_not_a_json_object_is_400_in_danish(service, body):
    response = await post_raw(service, body)
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert "JSON" in answer["fejl"] or "indlejret" in answer["fejl"]
    assert entry_count(service.engine) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/xml", ""])
async def test_an_activity_not_sent_as_json_is_400(service, content_type):
    person = secretariat_member(service.engine)
    sent = activity(service.emulator, person.teams_user_id, "message", text="hjælp")
    response = await post_raw(service, json.dumps(sent).encode(), content_type)
    assert response.status == 400, await response.text()
    assert "application/json" in (await response.json())["fejl"]
    assert not service.emulator.chats.get(person.teams_user_id)


# An activity whose fields are of the wrong type (the Agents SDK's model cannot read it).
MALFORMED_FIELDS = [
    ("type", 1), ("type", None), ("type", ["message"]), ("conversation", None),
    ("conversation", []), ("conversation", {"id": 5}), ("conversation", {}),
    ("from", "x"), ("from", {"id": {}}), ("recipient", 7), ("text", {"a": 1}),
    ("entities", "x"), ("entities", [1]), ("attachments", {"a": 1}), ("membersAdded", "x"),
    ("timestamp", "i går"), ("name", 1), ("replyToId", []),
]


@pytest.mark.parametrize("field, value", MALFORMED_FIELDS,
                         ids=[f"{f}={json.dumps(v)}" for f, v in MALFORMED_FIELDS])
async def test_an_activity_with_a_malformed_field_is_400_naming_it(service, field, value):
    person = secretariat_member(service.engine)
    sent = activity(service.emulator, person.teams_user_id, "message", text="hjælp")
    sent[field] = value
    status, answer = await post_activity(service, sent)
    assert status == 400, answer
    assert field in answer["fejl"] or field in str(answer.get("felter")), answer
    assert not service.emulator.chats.get(person.teams_user_id)


# Card actions ---------------------------------------------------------------------------------

# Values that are not an id a row can have: each answered as an id that does not exist.
NOT_IDS = [True, False, 1.0, 2.5, -1, 0, 2**31, 2**63, 10**30, "1", "", "abc", [1], {"id": 1},
           None]


async def test_malformed_ids_on_cards_are_answered_as_missing_ids(service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    records = {i: record_of(service.engine, i) for i in (own["incident"]["id"],
                                                         hidden["incident"]["id"])}
    with Session(service.engine) as session:
        states = {c.id: c.state for c in session.exec(select(Commitment))}
    someone = owner.teams_user_id
    cases = {
        "opdater": lambda v: {"alert_id": v},
        "kvitter": lambda v: {"alert_id": v},
        "godkend": lambda v: {"version_id": v, "comment": "x"},
        "kommentar": lambda v: {"version_id": v, "comment": "x"},
        "bekraeft": lambda v: {"commitment_id": v, "version_id": hidden["version_id"]},
        "udfoert": lambda v: {"commitment_id": v},
        "afvis": lambda v: {"commitment_id": v, "reason": "x"},
    }
    tried = 0
    for verb, data in cases.items():
        missing = await invoke(service, someone, verb, data(MISSING))
        assert missing["statusCode"] == 404, (verb, missing)
        for value in NOT_IDS:
            answer = await invoke(service, someone, verb, data(value))
            assert answer == missing, (verb, value, answer)
            tried += 1
    # A version id that is no id, on a commitment the person may press: as a missing one.
    missing = await invoke(service, someone, "bekraeft",
                           {"commitment_id": foreign.id, "version_id": MISSING})
    for value in NOT_IDS:
        if value is None:
            continue  # no version named: the press is checked against the current one
        answer = await invoke(service, someone, "bekraeft",
                              {"commitment_id": foreign.id, "version_id": value})
        assert answer == missing and answer["statusCode"] == 404, (value, answer)
    print(f"{tried} malformed card ids answered as missing")
    assert {i: record_of(service.engine, i) for i in records} == records
    with Session(service.engine) as session:
        assert {c.id: c.state for c in session.exec(select(Commitment))} == states


# The invoke's value itself: not an object, no action, a verb or data of the wrong type.
MALFORMED_VALUES = [
    [], "x", 1, None, {}, {"action": None}, {"action": "x"}, {"action": []},
    {"action": {"type": "Action.Submit", "verb": "opdater", "data": {"alert_id": 1}}},
    {"action": {"type": 1, "verb": "opdater"}},
    {"action": {"type": "Action.Execute", "verb": 5, "data": {}}},
    {"action": {"type": "Action.Execute", "verb": ["opdater"], "data": {"alert_id": 1}}},
    {"action": {"type": "Action.Execute", "verb": {"a": 1}, "data": {}}},
    {"action": {"type": "Action.Execute", "verb": None, "data": {}}},
    {"action": {"type": "Action.Execute", "verb": "opdater", "data": []}},
    {"action": {"type": "Action.Execute", "verb": "opdater", "data": "alert_id=1"}},
    {"action": {"type": "Action.Execute", "verb": "opdater", "data": {"": 1}}},
    {"action": {"type": "Action.Execute", "verb": "x" * 10_000, "data": {}}},
]


@pytest.mark.parametrize("value", MALFORMED_VALUES,
                         ids=[json.dumps(v)[:50] for v in MALFORMED_VALUES])
async def test_a_malformed_card_action_is_refused_in_danish(service, value):
    person = secretariat_member(service.engine)
    sent = activity(service.emulator, person.teams_user_id, "invoke")
    sent["value"] = value
    status, answer = await post_activity(service, sent)
    assert status == 200, answer  # the refusal is the invoke response's
    assert answer["statusCode"] in (400, 404), answer
    assert answer["type"] == "application/vnd.microsoft.error"
    message = answer["value"]["message"]
    assert isinstance(message, str) and len(message) < 200, message
    assert any(word in message for word in ("Kort", "handling", "findes")), message
    assert entry_count(service.engine) == 0


TEXT_FIELDS = [("afvis", "reason"), ("blokeret", "grund_{c}"), ("videregiv", "til_{c}"),
               ("godkend", "comment"), ("kommentar", "comment")]
NOT_TEXTS = [5, True, ["x"], {"a": "b"}, "a\u0000b", "\ud800", "x" * 5000]


async def test_a_text_of_the_wrong_type_on_a_card_is_refused_naming_the_field(service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    with Session(service.engine) as session:
        styregruppe = next(p for p in directory.list_people(session)
                           if p.teams_user_id and directory.is_secretariat(session, p.id))
    before = {i: record_of(service.engine, i) for i in (own["incident"]["id"],
                                                        hidden["incident"]["id"])}
    for verb, field in TEXT_FIELDS:
        name = field.format(c=foreign.id)
        for value in NOT_TEXTS:
            if verb in ("godkend", "kommentar"):
                who, data = styregruppe.teams_user_id, {"version_id": hidden["version_id"]}
            else:
                who, data = owner.teams_user_id, {"commitment_id": foreign.id}
            sent = activity(service.emulator, who, "invoke", value={
                "verb": verb, "data": {**data, name: value}})
            status, answer = await post_activity(service, sent)  # lone surrogates as \ud800
            assert status == 200 and answer["statusCode"] == 400, (verb, name, value, answer)
            message = answer["value"]["message"]
            assert ("Begrundelse" in message or "Kommentar" in message
                    or "Videregiv" in message), message
    assert {i: record_of(service.engine, i) for i in before} == before
