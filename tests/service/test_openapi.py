from __future__ import annotations


async def test_openapi_describes_the_api(service):
    response = await service.client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.")
    assert "post" in document["paths"]["/api/incidents"]
    schema = document["components"]["schemas"]["Aktivering"]
    assert {"incident_type", "title", "severity", "occurred_at"} <= set(schema["required"])
    # Every route the app serves under /api is described.
    served = {r.resource.canonical for r in service.client.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/")}
    assert served - {"/api/messages", "/api/openapi.json"} <= set(document["paths"])


async def test_each_operation_lists_the_refusals_it_gives(service):
    """Signed out: 401. A state change: 400 for a body that is not a JSON object (or nested too
    deeply). A body: 413 when too large, 422 naming malformed fields. A role: 403. An id in the
    path: 404. Each refusal in the API's error shape."""
    from bot import access

    document = await (await service.client.get("/api/openapi.json")).json()
    missing = []
    for route in service.client.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        operation = document["paths"].get(path, {}).get(route.method.lower())
        if operation is None:
            continue
        rule, listed = access.rule_of(route.handler), set(operation["responses"])
        wanted = {"401"}
        if route.method in ("POST", "PATCH", "PUT", "DELETE"):
            wanted.add("400")
        if "requestBody" in operation:
            wanted |= {"413", "422"}
        if rule.role is not None:
            wanted.add("403")
        if "{" in path:
            wanted.add("404")
        missing += [f"{route.method} {path}: {code}" for code in sorted(wanted - listed)]
        for code in listed & {"400", "401", "403", "404", "409", "413", "422"}:
            schema = operation["responses"][code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Fejl"}, (path, code)
    assert not missing, "\n".join(missing)
