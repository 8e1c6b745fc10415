"""The incident as a case file: the sagsakt for journalisering and the aktindsigt copy, as a zip
download for the secretariat (page and API), and ``export_incident`` for the command line.

The domain builds the zip (``handleplaner.casefile``); this layer hands it the alerts
(``notifications.casefile``) and records the export in the incident record.
"""
from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from aiohttp import web
from sqlalchemy.engine import Engine

from handleplaner import record
from handleplaner.casefile import (AKTINDSIGT, SAGSAKT, VARIANTS, CaseFile, CaseFileProblem,
                                   IncidentNotFound, PersonalDataLeft, export_casefile)
from handleplaner.incidents.models import Incident
from handleplaner.storage import transaction
from notifications.casefile import alerts_part

from . import access
from .keys import SERVICES
from .record_anchors import export_part


def export_incident(engine: Engine, incident_id: int, *, variant: str = SAGSAKT,
                    exported_by: str = record.SYSTEM, anchorer=None) -> CaseFile:
    """Build the case file with its alerts and the record's signed anchors (``anchorer`` signs
    the head first; None: the service has no signing key) and record the export, in one
    transaction."""
    with transaction(engine) as session:
        if session.get(Incident, incident_id) is None:
            raise IncidentNotFound(f"Hændelsen {incident_id} findes ikke.")
        parts = [alerts_part(session, incident_id), export_part(session, incident_id, anchorer)]
        return export_casefile(session, incident_id, variant=variant, exported_by=exported_by,
                               parts=parts)


def _zip_response(casefile: CaseFile) -> web.Response:
    return web.Response(body=casefile.data, content_type="application/zip", headers={
        "Content-Disposition": f"attachment; filename=\"{casefile.filename}\"; "
                              f"filename*=UTF-8''{quote(casefile.filename)}",
        "Cache-Control": "no-store"})


def _fail(request: web.Request, status: int, message: str) -> web.HTTPException:
    kind = {404: web.HTTPNotFound, 400: web.HTTPBadRequest,
            500: web.HTTPInternalServerError}[status]
    if request.path.startswith("/api/"):
        return kind(text=json.dumps({"fejl": message}, ensure_ascii=False),
                    content_type="application/json")
    return kind(text=message)


async def _export(request: web.Request, variant: str) -> web.Response:
    """The rule on the route has let the caller in (secretariat, may see the incident)."""
    incident_id = request.get(access.INCIDENT_KEY)
    person_id = request.get(access.PERSON_KEY)
    if incident_id is None or person_id is None:  # only reachable without the guard
        raise _fail(request, 404, "Hændelsen findes ikke.")
    try:
        services = request.app[SERVICES]
        casefile = await asyncio.to_thread(export_incident, services.engine, incident_id,
                                           variant=variant, exported_by=person_id,
                                           anchorer=services.anchorer)
    except IncidentNotFound:
        raise _fail(request, 404, "Hændelsen findes ikke.") from None
    except PersonalDataLeft as problem:
        raise _fail(request, 409, str(problem)) from None
    except CaseFileProblem as problem:
        raise _fail(request, 500, f"Sagsakten kunne ikke dannes: {problem}") from None
    return _zip_response(casefile)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def sagsakt_zip(request: web.Request) -> web.Response:
    return await _export(request, SAGSAKT)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def aktindsigt_zip(request: web.Request) -> web.Response:
    return await _export(request, AKTINDSIGT)


@access.rule(access.incident(access.SECRETARIAT_ROLE))
async def export_api(request: web.Request) -> web.Response:
    variant = request.query.get("variant", SAGSAKT)
    if variant not in VARIANTS:
        raise web.HTTPBadRequest(
            text=json.dumps({"fejl": "Ukendt variant.",
                             "felter": {"variant": "vælg 'sagsakt' eller 'aktindsigt'"}},
                            ensure_ascii=False),
            content_type="application/json")
    return await _export(request, variant)


def routes() -> list[web.RouteDef]:
    return [web.get("/haendelser/{incident_id}/sagsakt.zip", sagsakt_zip),
            web.get("/haendelser/{incident_id}/aktindsigt.zip", aktindsigt_zip),
            web.get("/api/incidents/{incident_id}/export", export_api)]
