"""A door resolves the caller once: the guard loads the incident and the person's groups, and
hands them to the handler (``bot/access.py`` ``Caller``); the handler does not load the incident
or ask for the person's roles again."""
from __future__ import annotations

from sqlalchemy import event

from .helpers import DEMO, noerrebro, secretariat_member, shooting


async def _statements(service, path: str, person_id: str) -> list[str]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(service.engine, "before_cursor_execute", count)
    try:
        response = await service.client.get(path, headers={DEMO: person_id})
        await response.read()
    finally:
        event.remove(service.engine, "before_cursor_execute", count)
    assert response.status == 200, (path, response.status)
    return seen


def _incident_rows(statements: list[str]) -> list[str]:
    """Statements that load an incident's row by its id."""
    return [s for s in statements if "incident.reference" in s and "FROM incident " in s
            and "WHERE incident.id =" in s]


def _roles(statements: list[str]) -> list[str]:
    """Statements that ask which groups (roles) a person has."""
    return [s for s in statements if "FROM directory_group" in s and "directory_membership" in s
            and "person_id" in s]


async def test_the_incident_and_the_roles_are_resolved_once_per_request(service):
    editor = secretariat_member(service.engine)
    created = await (await service.client.post("/api/incidents", headers={DEMO: editor.id},
                                               json=shooting(noerrebro(service.engine)))).json()
    incident_id = created["id"]
    for path in (f"/api/incidents/{incident_id}", f"/haendelser/{incident_id}",
                 f"/haendelser/{incident_id}/plan", f"/haendelser/{incident_id}/opgaver",
                 f"/haendelser/{incident_id}/moede", f"/api/incidents/{incident_id}/alerts",
                 f"/haendelser/{incident_id}/varsel"):
        statements = await _statements(service, path, editor.id)
        assert len(_incident_rows(statements)) == 1, (path, _incident_rows(statements))
        assert len(_roles(statements)) == 1, (path, _roles(statements))
