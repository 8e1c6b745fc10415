"""A scene for tests of the Teams bot's door: an open incident and a confidential one, each with
a sent plan and its task cards, a leader of the open one who may not see the confidential one,
and signed activities posted to the service's bot endpoint as Teams would."""
from __future__ import annotations

import json

from sqlmodel import Session, func, select

from handleplaner import access as policy
from handleplaner.commitments.models import Commitment
from handleplaner.directory import queries as directory
from handleplaner.record.models import RecordEntry
from m365emulator.teams_activities import build_incoming_activity
from notifications.models import Alert

from .helpers import DEMO, noerrebro, secretariat_member, shooting

MISSING = 2**30  # an id nobody has
UNKNOWN_TEAMS_USER = "00000000-0000-4000-8000-00000000beef"  # not in the directory


async def incident_with_sent_plan(service, areas, **changes) -> dict:
    client = service.client
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await client.post("/api/incidents", headers=headers,
                                       json=shooting(areas, **changes))).json()
    plan = await (await client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    sent = await (await client.post(f"/api/plans/{plan['id']}/send", headers=headers,
                                    json={})).json()
    await service.services.worker.run_until_idle(timeout=120)
    return {"incident": created, "plan": plan, "version_id": sent["version_id"]}


async def two_incidents(service) -> tuple[dict, dict]:
    """An open incident in Nørrebro, and a confidential one in Valby with its own leaders."""
    own = await incident_with_sent_plan(service, noerrebro(service.engine))
    hidden = await incident_with_sent_plan(service, ["valby"], confidential=True,
                                           title="Fortroligt: skud i Valby")
    return own, hidden


def leader_only_in(engine, own: dict, hidden: dict):
    """A leader responsible for a commitment in ``own`` who may not see ``hidden``, a
    commitment in ``hidden`` someone else is responsible for, and that someone."""
    with Session(engine) as session:
        for c in session.exec(select(Commitment).where(
                Commitment.incident_id == own["incident"]["id"],
                Commitment.responsible_id.is_not(None))):
            leader = directory.get_person(session, c.responsible_id)
            if leader.teams_user_id and not policy.may_view(session, leader.id,
                                                            hidden["incident"]["id"]):
                foreign = session.exec(select(Commitment).where(
                    Commitment.incident_id == hidden["incident"]["id"],
                    Commitment.responsible_id.is_not(None))).first()
                owner = directory.get_person(session, foreign.responsible_id)
                return leader, foreign, owner
    raise AssertionError("no leader of the open incident outside the confidential one")


def task_alert(engine, commitment: Commitment) -> int:
    """The task card's alert for the commitment's authority."""
    with Session(engine) as session:
        return session.exec(select(Alert.id).where(
            Alert.incident_id == commitment.incident_id, Alert.kind == "opgaver",
            Alert.audience == json.dumps({"authority": commitment.authority_code}))).first()


def record_of(engine, incident_id: int) -> list[tuple]:
    """The incident's record entries as they stand (id, action, data)."""
    with Session(engine) as session:
        return [tuple(row) for row in session.exec(
            select(RecordEntry.id, RecordEntry.action, RecordEntry.data)
            .where(RecordEntry.incident_id == incident_id).order_by(RecordEntry.id))]


def entry_count(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(RecordEntry)).one()


def activity(emulator, user_id: str, kind: str, **fields) -> dict:
    """A well-formed activity of ``kind`` (message, invoke, conversationUpdate) from the user, as
    Teams sends it to the bot."""
    conversation = emulator.personal_conversation(user_id)
    config = emulator.config
    return build_incoming_activity(
        kind=kind, activity_id=emulator.new_activity_id(), user_id=user_id,
        user_name=emulator.user_name(user_id), conversation_id=conversation["id"],
        tenant_id=config.tenant_id, bot_app_id=config.bot_app_id, bot_name=config.bot_name,
        service_url=emulator.service_url, **fields)


async def post_raw(service, body: bytes, content_type: str = "application/json"):
    """POST bytes to the bot endpoint with a valid Bot Framework token: the response."""
    token = service.emulator.signed_activity_token()
    return await service.client.post("/api/messages", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": content_type})


async def post_activity(service, sent: dict) -> tuple[int, object]:
    """POST the activity (any JSON, well-formed or not) to the bot with a valid token:
    (status, the answer's JSON or None)."""
    response = await post_raw(service, json.dumps(sent).encode())
    text = await response.text()
    try:
        return response.status, json.loads(text) if text.strip() else None
    except ValueError:
        return response.status, text


async def invoke(service, teams_user_id: str, verb, data) -> dict:
    """Press a card's Action.Execute: the invoke response's body (status 200 on the wire)."""
    status, answer = await service.emulator.send_to_bot(
        teams_user_id, invoke_value={"action": {"type": "Action.Execute", "verb": verb,
                                                "data": data}})
    assert status == 200, (status, answer)
    return answer
