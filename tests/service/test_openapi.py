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
