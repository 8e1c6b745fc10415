"""A structured fuzz of the Teams bot's door: hypothesis builds activities as Teams sends them,
signed with a valid Bot Framework token - messages, ``adaptiveCard/action`` invokes with the
bot's verbs and random ones, data of random types for every id and text the cards carry (the
real ids of an open and of a confidential incident among them), other invokes, installs,
unknown activity types, and now and then a field of the activity replaced by a value of another
type - from people of the demo directory and from a Teams user not in it, and posts them to the
running service's bot endpoint.

Every answer is below 500 (an invoke's answer inside the response too), and the confidential
incident's record and measures are untouched by anyone who may not see it. Derandomised and
bounded, so a run is reproducible and quick."""
from __future__ import annotations

import asyncio
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from bot.card_action import VERBS
from handleplaner.commitments.models import Commitment
from notifications.models import Alert

from .bot_scene import (MISSING, UNKNOWN_TEAMS_USER, activity, leader_only_in, post_activity,
                        record_of, two_incidents)
from .helpers import non_activator, secretariat_member

EXAMPLES = 150
DATA_KEYS = ("alert_id", "commitment_id", "version_id", "comment", "reason", "hand_to")
ACTIVITY_FIELDS = ("type", "name", "text", "value", "from", "conversation", "recipient",
                   "entities", "attachments", "membersAdded", "replyToId", "timestamp",
                   "channelData", "locale")


def _mostly(usual, rarely, one_in: int = 5):
    """``usual``, and one time in ``one_in`` ``rarely`` (one_of would pick each half the time)."""
    return st.sampled_from([usual] * (one_in - 1) + [rarely]).flatmap(lambda chosen: chosen)


def _json_values(ids: list[int]):
    """Any JSON value, the scene's real ids and the edges of the id columns more often."""
    numbers = st.one_of(st.sampled_from([*ids, MISSING, 0, -1, 2**31 - 1, 2**31, 2**63, 10**30]),
                        st.integers(), st.floats(allow_nan=False))
    scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=30),
                        st.sampled_from([str(i) for i in ids]))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)),
        max_leaves=6)


# The ids each verb's card carries (templates/teams/*.json.j2), and its texts.
CARD_FIELDS = {"opdater": ("alert_id",), "kvitter": ("alert_id",), "godkend": ("version_id",),
               "kommentar": ("version_id", "comment"), "afvis": ("commitment_id", "version_id",
                                                                 "reason"),
               **{verb: ("commitment_id", "version_id", "reason") for verb in
                  ("bekraeft", "videregiv", "startet", "udfoert", "blokeret")}}


def _invoke_values(ids: dict[str, list[int]]):
    """Mostly a card's Action.Execute with one of the bot's verbs and the data its card carries
    (real ids of both incidents, texts) plus any other keys; also any verb, any data, and any
    value at all."""
    every = sorted({i for found in ids.values() for i in found})
    values = _json_values(every)
    texts = st.one_of(st.text(max_size=30), values)
    keys = st.sampled_from([*DATA_KEYS, *[f"grund_{i}" for i in every],
                            *[f"til_{i}" for i in every]])

    def card(verb: str):
        fields = {name: texts if name in ("comment", "reason") else _mostly(
            st.sampled_from([*ids[name], MISSING]), values) for name in CARD_FIELDS[verb]}
        return st.tuples(st.fixed_dictionaries({}, optional=fields),
                         st.dictionaries(keys, values, max_size=2)).map(
            lambda parts: {"type": "Action.Execute", "verb": verb, **{"data": {**parts[1],
                                                                               **parts[0]}}})

    execute = st.sampled_from(VERBS).flatmap(card)
    loose = st.fixed_dictionaries(
        {"type": st.sampled_from(["Action.Execute", "Action.Submit"])},
        optional={"verb": st.one_of(st.sampled_from(VERBS), st.text(max_size=20), values),
                  "data": st.one_of(values, st.dictionaries(st.one_of(keys, st.text(max_size=10)),
                                                            values, max_size=3))})
    return _mostly(st.fixed_dictionaries({"action": execute}),
                   st.one_of(st.fixed_dictionaries({"action": loose}), values), one_in=4)


def _activities(users: list[str], ids: dict[str, list[int]]):
    """(sender, activity shape, a field replaced or None)."""
    values = _json_values(sorted({i for found in ids.values() for i in found}))
    message = st.fixed_dictionaries({"kind": st.just("message"), "text": st.one_of(
        st.sampled_from(["status", "mine opgaver", "hjælp", "", "<at>SSP</at> status"]),
        st.text(max_size=40))})
    name = _mostly(st.just("adaptiveCard/action"), st.one_of(st.sampled_from(
        ["signin/verifyState", "task/fetch", "config/fetch", "composeExtension/query"]),
        st.text(max_size=20)))
    card = st.fixed_dictionaries({"kind": st.just("invoke"), "value": _invoke_values(ids),
                                  "name": name})
    other = st.fixed_dictionaries({"kind": st.sampled_from(["conversationUpdate", "event",
                                                            "typing", "messageReaction",
                                                            "installationUpdate", "ukendt"])})
    return st.tuples(st.sampled_from(users), st.one_of(message, card, card, card, other),
                     st.one_of(st.none(), st.none(), st.none(),
                               st.tuples(st.sampled_from(ACTIVITY_FIELDS), values)))


def _build(emulator, user: str, shape: dict, changed) -> dict:
    kind = shape["kind"]
    if kind == "message":
        sent = activity(emulator, user, "message", text=shape["text"])
    elif kind == "invoke":
        sent = activity(emulator, user, "invoke")
        sent["value"], sent["name"] = shape["value"], shape["name"]
    elif kind == "conversationUpdate":
        sent = activity(emulator, user, "conversationUpdate")
    else:
        sent = activity(emulator, user, "message", text="")
        sent["type"] = kind
    if changed is not None:
        field, value = changed
        sent[field] = value
    return sent


def _hidden_state(engine, incident_id: int) -> tuple:
    with Session(engine) as session:
        measures = sorted((c.id, c.state, c.responsible_id, c.assigned_id, c.note, c.reason)
                          for c in session.exec(select(Commitment).where(
                              Commitment.incident_id == incident_id)))
    return record_of(engine, incident_id), measures


async def test_signed_random_activities_never_give_a_server_error(service):
    own, hidden = await two_incidents(service)
    leader, foreign, owner = leader_only_in(service.engine, own, hidden)
    hidden_id = hidden["incident"]["id"]
    outsiders = [leader.teams_user_id, non_activator(service.engine).teams_user_id,
                 UNKNOWN_TEAMS_USER]
    insiders = [owner.teams_user_id, secretariat_member(service.engine).teams_user_id]
    with Session(service.engine) as session:
        ids = {"commitment_id": list(session.exec(select(Commitment.id))),
               "alert_id": list(session.exec(select(Alert.id))),
               "version_id": [own["version_id"], hidden["version_id"]]}
    loop = asyncio.get_running_loop()
    tried: dict[int, int] = {}
    cards: dict[int, int] = {}  # the invoke answers' own status codes

    async def build_and_post(user: str, shape: dict, changed) -> tuple[dict, int, object]:
        sent = _build(service.emulator, user, shape, changed)  # on the loop, as the emulator is
        return (sent, *await post_activity(service, sent))

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=_activities(outsiders + insiders, ids))
    def run(case):
        user, shape, changed = case
        before = _hidden_state(service.engine, hidden_id)
        sent, status, answer = asyncio.run_coroutine_threadsafe(
            build_and_post(user, shape, changed), loop).result(60)
        tried[status] = tried.get(status, 0) + 1
        shown = json.dumps(sent, default=str)[:600]
        assert status < 500, (status, answer, shown)
        if isinstance(answer, dict) and "statusCode" in answer:
            assert answer["statusCode"] < 500, (answer, shown)
            cards[answer["statusCode"]] = cards.get(answer["statusCode"], 0) + 1
        if user in outsiders:
            assert _hidden_state(service.engine, hidden_id) == before, shown

    await asyncio.to_thread(run)
    print(f"{sum(tried.values())} signed activities posted to the bot; answers: {tried}; "
          f"invoke answers: {cards}")
    assert sum(tried.values()) >= EXAMPLES and 200 in tried and 400 in tried
    assert {400, 404} <= set(cards), cards  # card actions were read, and reached the policy
    assert (await service.client.get("/healthz")).status == 200
