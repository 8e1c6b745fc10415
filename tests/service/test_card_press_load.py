"""Card presses at once: thirty signed Action.Execute invokes reach the bot together, the same
button pressed twice or three times by its leader (a double tap, a retry). Every answer is the
refreshed card, and every change is in the record exactly once, whatever the interleaving.
Bounded in size, not timed; bench/load.py measures the latency."""
from __future__ import annotations

import asyncio
import json

from sqlmodel import Session, select

from handleplaner import record
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.record.models import RecordEntry

from .test_commitments import sent_plan

PRESSES = 30


def buttons(service, plan_id: int) -> list[dict]:
    """Each commitment's Bekræft button on the task card its leader has in Teams."""
    found = []
    with Session(service.engine) as session:
        rows = session.exec(select(Commitment).where(Commitment.plan_id == plan_id,
                                                     Commitment.responsible_id.is_not(None)))
        for c in rows:
            leader = directory.get_person(session, c.responsible_id)
            for entry in reversed(service.emulator.chats.get(leader.teams_user_id or "", [])):
                actions = [a for a in _actions(entry["activity"])
                           if a.get("verb") == "bekraeft"
                           and (a.get("data") or {}).get("commitment_id") == c.id]
                if actions:
                    found.append({"user_id": leader.teams_user_id, "activity_id": entry["id"],
                                  "commitment_id": c.id, "data": actions[0]["data"]})
                    break
    return found


def _actions(node):
    if isinstance(node, dict):
        if node.get("type") == "Action.Execute":
            yield node
        for value in node.values():
            yield from _actions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _actions(value)


async def test_thirty_presses_at_once_each_recorded_once(service):
    editor, created, plan, sent = await sent_plan(service)
    pressable = buttons(service, plan["id"])
    assert len(pressable) >= 3, "the plan should give several leaders a task card"
    # Thirty presses: every button at least twice, sent all at once.
    presses = [pressable[i % len(pressable)] for i in range(max(PRESSES, 2 * len(pressable)))]

    async def press(button):
        return await service.emulator.send_to_bot(
            button["user_id"], reply_to_id=button["activity_id"],
            invoke_value={"action": {"type": "Action.Execute", "verb": "bekraeft",
                                     "data": dict(button["data"])}})

    answers = await asyncio.wait_for(asyncio.gather(*(press(b) for b in presses)), timeout=60)

    for (status, answer), button in zip(answers, presses):
        assert status == 200, answer
        assert answer["statusCode"] == 200, answer
        assert answer["type"] == "application/vnd.microsoft.card.adaptive"
        assert "Bekræftet" in str(answer["value"])
    with Session(service.engine) as session:
        pressed = {b["commitment_id"] for b in pressable}
        for commitment_id in pressed:
            c = session.get(Commitment, commitment_id)
            assert c.state == "bekraeftet" and c.confirmed_by == c.responsible_id
        confirmations = [e for e in session.exec(select(RecordEntry).where(
            RecordEntry.incident_id == created["id"], RecordEntry.action == "opgave.bekraeftet"))]
        counts = {cid: sum(1 for e in confirmations if json.loads(e.data)["commitment_id"] == cid)
                  for cid in pressed}
        assert counts == {cid: 1 for cid in pressed}
        assert record.verify_chain(session, created["id"]) is None
