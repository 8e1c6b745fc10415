"""The commitment board: per authority and measure, confirmed or not, by whom and when, status,
deadline, overdue first; it updates live (server-sent events). Leaders report here too."""
from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from datetime import datetime

from aiohttp import web
from sqlmodel import Session

from handleplaner.access import commitment_in
from handleplaner.clock import dansk
from handleplaner.commitments.models import COMMITMENT_STATES
from handleplaner.commitments.service import (CommitmentRefused, NotYours, board, press,
                                              record_refusal)
from handleplaner.plans import service as plans
from handleplaner.storage import transaction

from . import access
from .api import ok
from .keys import SERVICES
from .pages import _form, engine, page
from .request_input import whole_id

STREAM_POLL_SECONDS = 2.0
# An id that does not exist, or belongs to another incident than the board's: the same answer.
COMMITMENT_MISSING = "Opgaven eller handlingen findes ikke."


def _board(session: Session, incident_id: int) -> list[dict]:
    plan = plans.plan_of_incident(session, incident_id)
    return board(session, plan.id) if plan else []


def summary(rows: list[dict]) -> str:
    """The board in one line, e.g. "5 opgaver: 2 bekræftet, 3 afventer bekræftelse; 1 forfalden"
    (what screen readers hear when it changes)."""
    if not rows:
        return "Ingen opgaver endnu."
    counts = Counter(r["state"] for r in rows)
    parts = [f"{n} {COMMITMENT_STATES[state].lower()}" for state, n in
             sorted(counts.items(), key=lambda item: list(COMMITMENT_STATES).index(item[0]))]
    overdue = sum(1 for r in rows if r["overdue"])
    return (f"{len(rows)} {'opgave' if len(rows) == 1 else 'opgaver'}: " + ", ".join(parts)
            + (f"; {overdue} forfalden" if overdue == 1 else f"; {overdue} forfaldne" if overdue else ""))


def _time(iso: str) -> str:
    try:
        return dansk(datetime.fromisoformat(iso))
    except (TypeError, ValueError):
        return iso or ""


def board_context(session: Session, incident, *, back: str = "", error: str = "",
                  error_id: str = "") -> dict:
    """What the board partial (templates/web/_board.html.j2) needs, besides the incident."""
    rows = _board(session, incident.id)
    return dict(rows=rows, board_summary=summary(rows), back=back,
                board_error=error, board_error_id=error_id, tid=_time)


@access.rule(access.incident())
async def board_page(request: web.Request) -> web.Response:
    person, incident = access.caller(request).person, access.named_incident(request)
    with Session(engine(request)) as session:
        return page(request, "commitments.html.j2", person=person, incident=incident,
                    **board_context(session, incident, error=request.query.get("fejl", ""),
                                    error_id=request.query.get("opgave", "")))


@access.rule(access.incident())
async def board_fragment(request: web.Request) -> web.Response:
    """The board alone, as HTML: what the live script swaps in when the board changes."""
    person, incident = access.caller(request).person, access.named_incident(request)
    with Session(engine(request)) as session:
        back = "haendelse" if request.query.get("fra") == "haendelse" else ""
        response = page(request, "_board.html.j2", person=person, incident=incident,
                        **board_context(session, incident, back=back))
        response.headers["Cache-Control"] = "no-store"
        return response


@access.rule(access.incident())
async def board_json(request: web.Request) -> web.Response:
    incident = access.named_incident(request)
    with Session(engine(request)) as session:
        return ok(_board(session, incident.id))


def _board_body(db, incident_id: int) -> str:
    """The board as the stream sends it (read in a thread: the event loop serves card presses)."""
    with Session(db) as session:
        return json.dumps(_board(session, incident_id), ensure_ascii=False)


@access.rule(access.incident())
async def board_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the board as JSON whenever it changes (and a comment as heartbeat)."""
    incident = access.named_incident(request)
    given = request.query.get("runder", "")  # tests stop after a few rounds
    rounds = whole_id(given) if given else 0
    if rounds is None:
        raise web.HTTPBadRequest(text="Parameteren 'runder' skal være et positivt helt tal.")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    last = None
    sent = 0
    while True:
        body = await asyncio.to_thread(_board_body, engine(request), incident.id)
        digest = hashlib.sha256(body.encode()).hexdigest()
        if digest != last:
            await response.write(f"event: tavle\ndata: {body}\n\n".encode())
            last, sent = digest, sent + 1
        else:
            await response.write(b": ping\n\n")
        if rounds and sent >= rounds:
            return response
        await asyncio.sleep(STREAM_POLL_SECONDS)


@access.rule(access.incident())
async def board_press(request: web.Request) -> web.Response:
    form = await _form(request)
    services = request.app[SERVICES]
    person, incident = access.caller(request).person, access.named_incident(request)
    commitment_id = whole_id(form.get("commitment_id")) or 0
    action = form.get("handling", "")
    # Back to where the button was: the board page, or the board on the incident page.
    on_incident = form.get("fra") == "haendelse"
    back = f"/haendelser/{incident.id}" if on_incident else f"/haendelser/{incident.id}/opgaver"

    def refused_to(error: Exception) -> web.HTTPSeeOther:
        key = "opgavefejl" if on_incident else "fejl"
        anchor = "#opgaver" if on_incident else ""
        return web.HTTPSeeOther(f"{back}?{key}={web_quote(str(error))}&opgave={commitment_id}"
                                f"{anchor}")

    def run():
        with Session(services.engine) as session:  # through the incident in the URL
            if commitment_in(session, incident.id, commitment_id) is None:
                raise CommitmentRefused(COMMITMENT_MISSING)
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
                record_refusal(session, incident_id=incident.id, commitment_id=commitment_id,
                               person_id=person.id, action=action, via="web")
        await asyncio.to_thread(note_refusal)
        raise refused_to(error)
    except CommitmentRefused as error:
        raise refused_to(error)
    services.worker.wakeup.set()
    raise web.HTTPSeeOther(back + ("#opgaver" if on_incident else ""))


def web_quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:300], safe="")


def routes() -> list[web.RouteDef]:
    return [web.get("/haendelser/{incident_id}/opgaver", board_page),
            web.get("/haendelser/{incident_id}/opgaver/tavle", board_fragment),
            web.post("/haendelser/{incident_id}/opgaver", board_press),
            web.get("/haendelser/{incident_id}/opgaver/stroem", board_stream),
            web.get("/api/incidents/{incident_id}/commitments", board_json)]
