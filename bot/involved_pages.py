"""The people an incident concerns, on the incident page: the folded section "Involverede
personer" that lists them and lets the caller add one or remove one.

Only those who may read involved people (``Standing.may_read_involved``: the SSP Sekretariat and
the incident's activator) see the section; for anyone else it is not rendered at all, and a form
posted anyway is refused. Every change goes through ``handleplaner.involved``, which asks the
access policy again and writes the record without the name. A form with errors comes back with
everything typed kept and each error, in Danish, next to its field.
"""
from __future__ import annotations

import asyncio

from aiohttp import web
from sqlmodel import Session

from handleplaner import involved
from handleplaner.directory import queries as directory
from handleplaner.storage import transaction

from . import access
from .keys import SERVICES
from .pages import incident_view, posted_form, refused
from .request_input import whole_id

REFUSED = ("Kun SSP Sekretariatet og den, der aktiverede beredskabet, kan se og registrere de "
           "involverede personer.")
MISSING = "Den involverede person findes ikke."
# form field -> the domain's field
FIELDS = {"involved_name": "name", "involved_nicknames": "nicknames", "involved_age": "age",
          "involved_area": "area", "involved_role": "role"}


def section(session: Session, caller: access.Caller, form: dict | None = None, *,
            full: bool = True) -> dict:
    """What the incident page needs for the section; nothing for those who may not read the
    involved people, or who see only the shareable version (the section is then not shown)."""
    if not caller.standing.may_read_involved or not full:
        return {"involved_section": None}
    form = form or {}
    areas = directory.all_areas(session)
    return {"involved_section": {
        "people": involved.listed(session, caller.incident.id),
        "areas": areas, "area_names": {a.code: a.name for a in areas},
        "typed": form.get("values", {}), "errors": form.get("errors", {}),
        "open": bool(form)}}


def _again(request: web.Request, values: dict, errors: dict) -> web.Response:
    return incident_view(request, status=422,
                         involved_form={"values": values, "errors": errors})


def _refused(request: web.Request) -> web.Response:
    return refused(request, REFUSED, person=access.caller(request).person)


def _back(incident_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/haendelser/{incident_id}#involverede")


@access.rule(access.incident())
async def add_involved(request: web.Request) -> web.Response:
    form = await posted_form(request)
    caller = access.caller(request)
    if not caller.standing.may_read_involved:
        return _refused(request)
    values = {name: str(form.get(name, "")) for name in FIELDS}
    data = {field: values[name] for name, field in FIELDS.items() if values[name].strip()}
    data.setdefault("name", values["involved_name"])
    engine = request.app[SERVICES].engine

    def register():
        with transaction(engine) as session:
            involved.register(session, incident_id=caller.incident.id,
                              actor_id=caller.person.id, data=data)

    try:
        await asyncio.to_thread(register)
    except involved.InvolvedRefused:
        return _refused(request)
    except involved.InvolvedInvalid as invalid:
        errors = {f"involved_{key}" if f"involved_{key}" in FIELDS else "_": message
                  for key, message in invalid.errors.items()}
        return _again(request, values, errors)
    raise _back(caller.incident.id)


@access.rule(access.incident())
async def remove_involved(request: web.Request) -> web.Response:
    form = await posted_form(request)
    caller = access.caller(request)
    if not caller.standing.may_read_involved:
        return _refused(request)
    involved_id = whole_id(form.get("involved_id"))
    engine = request.app[SERVICES].engine

    def remove():
        with transaction(engine) as session:
            involved.remove(session, incident_id=caller.incident.id, involved_id=involved_id,
                            actor_id=caller.person.id)

    try:
        await asyncio.to_thread(remove)
    except involved.InvolvedRefused:
        return _refused(request)
    except LookupError:  # missing, or of another incident: the same answer
        return _again(request, {}, {"_": MISSING})
    raise _back(caller.incident.id)


def routes() -> list[web.RouteDef]:
    return [web.post("/haendelser/{incident_id}/involverede", add_involved),
            web.post("/haendelser/{incident_id}/involverede/fjern", remove_involved)]
