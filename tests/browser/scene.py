"""A scene to look at: an incident on Nørrebro with its alert, a sent plan with commitments and a
called meeting, made over the API as the secretariat would."""
from __future__ import annotations

from sqlmodel import Session, select

from handleplaner.commitments.models import Commitment
from notifications.models import Alert

from ..service.helpers import DEMO, noerrebro, secretariat_member, shooting


async def incident_with_plan_and_meeting(service) -> dict:
    client = service.client
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    response = await client.post("/api/incidents", headers=headers,
                                 json=shooting(noerrebro(service.engine)))
    incident = await response.json()
    assert response.status == 201, incident
    plan = await (await client.post(f"/api/incidents/{incident['id']}/plan", headers=headers,
                                    json={"template": "skyderi"})).json()
    response = await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    assert response.status == 201, await response.text()
    response = await client.post(f"/api/incidents/{incident['id']}/meetings", headers=headers,
                                 json={"online": True})
    assert response.status == 201, await response.text()
    await service.services.worker.run_until_idle(timeout=60)
    with Session(service.engine) as session:
        leader = session.exec(select(Commitment.responsible_id).where(
            Commitment.plan_id == plan["id"], Commitment.responsible_id.is_not(None))).first()
        alert = session.exec(select(Alert).where(Alert.incident_id == incident["id"])
                             .order_by(Alert.id)).first()
    return {"editor": editor.id, "leader": leader, "incident": incident["id"], "alert": alert.id,
            "plan": plan["id"]}
