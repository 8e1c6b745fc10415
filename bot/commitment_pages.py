"""The commitment board: per authority and measure, confirmed or not, by whom and when, status,
deadline, overdue first; it updates live (server-sent events). Leaders report here too."""
from __future__ import annotations

import asyncio
import hashlib
import json

from aiohttp import web
from sqlmodel import Session

from handleplaner.commitments.models import COMMITMENT_STATES
from handleplaner.commitments.service import (CommitmentRefused, NotYours, board, press,
                                              record_refusal)
from handleplaner.plans import service as plans
from handleplaner.storage import transaction

from .api import _person_or_401, ok
from .keys import SERVICES
from .pages import _form, _signed_in, engine, page
from .plan_pages import _incident

STREAM_POLL_SECONDS = 2.0


def _board(session: Session, incident_id: int) -> list[dict]:
    plan = plans.plan_of_incident(session, incident_id)
    return board(session, plan.id) if plan else []


async def board_page(request: web.Request) -> web.Response:
    with Session(engine(request)) as session:
        person = _signed_in(request, session)
        incident = _incident(request, session, person)
        return page(request, "commitments.html.j2", person=person, incident=incident,
                    rows=_board(session, incident.id), STATES=COMMITMENT_STATES,
                    errors=request.query.get("fejl", ""))


async def board_json(request: web.Request) -> web.Response:
    with Session(engine(request)) as session:
        person = _person_or_401(request, session)
        incident = _incident(request, session, person)
        return ok(_board(session, incident.id))


async def board_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the board as JSON whenever it changes (and a comment as heartbeat)."""
    with Session(engine(request)) as session:
        person = _signed_in(request, session)
        incident = _incident(request, session, person)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    last = None
    rounds = int(request.query.get("runder", "0"))  # tests stop after a few rounds
    sent = 0
    while True:
        with Session(engine(request)) as session:
            rows = _board(session, incident.id)
        body = json.dumps(rows, ensure_ascii=False)
        digest = hashlib.sha256(body.encode()).hexdigest()
        if digest != last:
            await response.write(f"event: tavle\ndata: {body}\n\n".encode())
            last, sent = digest, sent + 1
        else:
            await response.write(b": ping\n\n")
        if rounds and sent >= rounds:
            return response
        await asyncio.sleep(STREAM_POLL_SECONDS)


async def board_press(request: web.Request) -> web.Response:
    form = await _form(request)
    services = request.app[SERVICES]
    with Session(services.engine) as session:
        person = _signed_in(request, session)
        incident = _incident(request, session, person)
    commitment_id = int(form.get("commitment_id", "0") or 0)
    action = form.get("handling", "")

    def run():
        if action == "udskyd":
            from notifications.commitment_reminders import snooze

            if not snooze(commitment_id, person.id):
                raise CommitmentRefused("Påmindelsen kan kun udskydes én gang, af den ansvarlige.")
            return
        with transaction(services.engine) as session:
            press(session, commitment_id=commitment_id, version_id=None, person_id=person.id,
                  action=action, reason=form.get("grund", ""), note=form.get("note", ""),
                  hand_to=form.get("til") or None, via="web")

    try:
        await asyncio.to_thread(run)
    except NotYours as error:
        def note_refusal():
            with transaction(services.engine) as session:
                record_refusal(session, commitment_id=commitment_id, person_id=person.id,
                               action=action, via="web")
        await asyncio.to_thread(note_refusal)
        raise web.HTTPSeeOther(f"/haendelser/{incident.id}/opgaver?fejl={web_quote(str(error))}")
    except CommitmentRefused as error:
        raise web.HTTPSeeOther(f"/haendelser/{incident.id}/opgaver?fejl={web_quote(str(error))}")
    services.worker.wakeup.set()
    raise web.HTTPSeeOther(f"/haendelser/{incident.id}/opgaver")


def web_quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:300], safe="")


def routes() -> list[web.RouteDef]:
    return [web.get("/haendelser/{incident_id}/opgaver", board_page),
            web.post("/haendelser/{incident_id}/opgaver", board_press),
            web.get("/haendelser/{incident_id}/opgaver/stroem", board_stream),
            web.get("/api/incidents/{incident_id}/commitments", board_json)]
