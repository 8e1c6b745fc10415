"""The people an incident concerns, through the JSON API: list, register, remove.

The guard resolves the caller and the incident once; every handler then holds the caller's
standing to the access policy's narrower rule (``may_read_involved``: the SSP Sekretariat and
the incident's activator) and goes through ``handleplaner.involved``, which
writes the record entries without the names.
"""
from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from handleplaner import involved

from . import access
from .api import in_transaction, ok, problem
from .keys import SERVICES
from .request_input import json_object, path_id

REFUSED = ("Kun SSP Sekretariatet og den, der aktiverede beredskabet, kan se og registrere de "
           "involverede personer.")


@access.rule(access.incident())
async def list_involved(request: web.Request) -> web.Response:
    caller = access.caller(request)
    if not caller.standing.may_read_involved:
        return problem(403, REFUSED)
    with Session(request.app[SERVICES].engine) as session:
        return ok({"involved": [involved.as_json(p)
                                for p in involved.listed(session, caller.incident.id)]})


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

    incident = access.named_incident(request)

    def work(session, person):
        return involved.as_json(involved.register(session, incident_id=incident.id,
                                                  actor_id=person.id, data=data))

    return await _change(request, work, status=201)


@access.rule(access.incident())
async def remove_involved(request: web.Request) -> web.Response:
    involved_id = path_id(request, "involved_id", "Den involverede person findes ikke.")

    incident = access.named_incident(request)

    def work(session, person):
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
