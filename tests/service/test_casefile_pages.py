"""The case file over the web: the secretariat downloads the sagsakt and the aktindsigt copy
(page and API) and sees the buttons; others are refused and do not see them."""
from __future__ import annotations

import io
import json
import zipfile

from sqlmodel import Session

from handleplaner import record
from handleplaner.directory import queries as directory
from handleplaner.plans import service as plans
from tests.casefile.scenario import build_case

from .helpers import DEMO, non_activator


def _outsider_in_styregruppe(engine):
    """A styregruppe member outside the secretariat: may see the incident, not export it."""
    with Session(engine) as session:
        return next(p for p in plans.styregruppe(session)
                    if not directory.is_secretariat(session, p.id))


async def test_the_secretariat_downloads_both_and_sees_the_buttons(service):
    client = service.client
    case = build_case(service.engine)
    headers = {DEMO: case.editor_id}

    page = await (await client.get(f"/haendelser/{case.incident_id}", headers=headers)).text()
    assert f"/haendelser/{case.incident_id}/sagsakt.zip" in page
    assert f"/haendelser/{case.incident_id}/aktindsigt.zip" in page

    response = await client.get(f"/haendelser/{case.incident_id}/sagsakt.zip", headers=headers)
    assert response.status == 200 and response.content_type == "application/zip"
    assert f"{case.reference}-sagsakt.zip" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert json.loads(archive.read("sagsakt.json"))["variant"] == "sagsakt"
    assert "varsler.json" in archive.namelist()
    anchored = json.loads(archive.read("haendelseslog-ankre.json"))  # demo mode signs with its key
    assert anchored["ankre"] and anchored["kontrol"]["i_orden"] is True

    response = await client.get(f"/haendelser/{case.incident_id}/aktindsigt.zip", headers=headers)
    assert response.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert "AKTINDSIGTSKOPI" in archive.read("README.txt").decode()

    response = await client.get(f"/api/incidents/{case.incident_id}/export?variant=aktindsigt",
                                headers=headers)
    assert response.status == 200 and response.content_type == "application/zip"
    assert f"{case.reference}-aktindsigt.zip" in response.headers["Content-Disposition"]
    response = await client.get(f"/api/incidents/{case.incident_id}/export?variant=alt",
                                headers=headers)
    assert response.status == 400 and "variant" in (await response.json())["felter"]

    with Session(service.engine) as session:
        exports = [json.loads(e.data) for e in record.entries(session, case.incident_id)
                   if e.action == "sag.eksporteret"]
    assert [e["variant"] for e in exports] == ["sagsakt", "aktindsigt", "aktindsigt"]
    assert {e["by"] for e in exports} == {case.editor_id}


async def test_others_are_refused_and_see_no_buttons(service):
    client = service.client
    case = build_case(service.engine)
    member = _outsider_in_styregruppe(service.engine)
    headers = {DEMO: member.id}
    page = await client.get(f"/haendelser/{case.incident_id}", headers=headers)
    assert page.status == 200 and "sagsakt.zip" not in await page.text()
    for path in (f"/haendelser/{case.incident_id}/sagsakt.zip",
                 f"/haendelser/{case.incident_id}/aktindsigt.zip",
                 f"/api/incidents/{case.incident_id}/export"):
        response = await client.get(path, headers=headers)
        assert response.status == 403, path
    stranger = non_activator(service.engine)
    response = await client.get(f"/api/incidents/{case.incident_id}/export",
                                headers={DEMO: stranger.id})
    assert response.status in (403, 404)
    response = await client.get("/api/incidents/999999/export", headers={DEMO: case.editor_id})
    assert response.status == 404 and "fejl" in await response.json()
    response = await client.get(f"/haendelser/{case.incident_id}/sagsakt.zip",
                                allow_redirects=False)
    assert response.status in (303, 401)
    with Session(service.engine) as session:
        assert record.count(session, case.incident_id, "sag.eksporteret") == 0
