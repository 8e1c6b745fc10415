"""The people an incident concerns, through the JSON API: list, register, remove.

Every handler asks the access policy's narrower rule (``may_read_involved``: the SSP
Sekretariat and the incident's activator) and goes through ``handleplaner.involved``, which
writes the record entries without the names.
"""
from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from handleplaner import involved
from handleplaner.access import may_read_involved, may_view
from handleplaner.incidents import get_incident

from . import access
from .access import current_person
from .api import in_transaction, ok, problem
from .keys import SERVICES
from .request_input import json_object, not_found, path_id

REFUSED = ("Kun SSP Sekretariatet og den, der aktiverede beredskabet, kan se og registrere de "
           "involverede personer.")


def _person(request: web.Request, session: Session):
    person = current_person(request, session)
    if person is None:
        raise web.HTTPUnauthorized(text='{"fejl": "Du er ikke logget ind."}',
                                   content_type="application/json")
    return person


def _incident(request: web.Request, session: Session, person):
    """The incident in the path, if the person may see it; 404 as for one that does not exist."""
    incident = get_incident(session, path_id(request, "incident_id", "Hændelsen findes ikke."))
    if incident is None or not may_view(session, person.id, incident.id):
        raise not_found(request, "Hændelsen findes ikke.")
    return incident


@access.rule(access.incident())
async def list_involved(request: web.Request) -> web.Response:
    with Session(request.app[SERVICES].engine) as session:
        person = _person(request, session)
        incident = _incident(request, session, person)
        if not may_read_involved(session, person.id, incident.id):
            return problem(403, REFUSED)
        return ok({"involved": [involved.as_json(p) for p in involved.listed(session, incident.id)]})


async def _change(request: web.Request, work, status: int) -> web.Response:
    try:
        return ok(await in_transaction(request, work), status=status)
    except involved.InvolvedRefused:
        return problem(403, REFUSED)
    except involved.InvolvedInvalid as invalid:
        return problem(422, "Personen er ikke registreret: forespørgslen har fejl.",
                       invalid.errors)
    except LookupError as missing:
        return problem(404, str(missing))


@access.rule(access.incident())
async def add_involved(request: web.Request) -> web.Response:
    data = await json_object(request)

    def work(session, person):
        incident = _incident(request, session, person)
        return involved.as_json(involved.register(session, incident_id=incident.id,
                                                  actor_id=person.id, data=data))

    return await _change(request, work, status=201)


@access.rule(access.incident())
async def remove_involved(request: web.Request) -> web.Response:
    involved_id = path_id(request, "involved_id", "Den involverede person findes ikke.")

    def work(session, person):
        incident = _incident(request, session, person)
        involved.remove(session, incident_id=incident.id, involved_id=involved_id,
                        actor_id=person.id)
        return {"removed": involved_id}

    return await _change(request, work, status=200)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/incidents/{incident_id}/involved", list_involved),
        web.post("/api/incidents/{incident_id}/involved", add_involved),
        web.delete("/api/incidents/{incident_id}/involved/{involved_id}", remove_involved),
    ]
