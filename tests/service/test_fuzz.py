"""A fuzz run over the API: schemathesis generates valid and invalid requests for every operation
in the service's own OpenAPI description and sends them to the running service. No request may
give a server error (5xx), and the service must still answer afterwards."""
from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .helpers import DEMO, noerrebro, secretariat_member, shooting

EXAMPLES = 10  # per operation and mode; derandomised, so a failure is reproducible


def _fuzz(base: str, document: dict, headers: dict) -> tuple[int, list[str]]:
    schema = schemathesis.openapi.from_dict(document)
    sent, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                nonlocal sent
                response = case.call(base_url=base, headers=headers, timeout=30)
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{operation.label} [{mode.value}] -> "
                                    f"{response.status_code}: {case.as_curl_command()}")
            try:
                run()
            except Unsatisfiable:
                pass  # no invalid request can be made for this operation (e.g. GET without input)
    return sent, failures


async def test_the_api_gives_no_server_error_under_fuzzing(service):
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    created = await (await service.client.post("/api/incidents", headers=headers,
                                               json=shooting(noerrebro(service.engine)))).json()
    await service.client.post(f"/api/incidents/{created['id']}/plan", headers=headers,
                              json={"template": "skyderi", "period_days": 14})
    document = await (await service.client.get("/api/openapi.json")).json()
    sent, failures = await asyncio.to_thread(_fuzz, service.base, document, headers)
    assert not failures, "\n".join(failures[:20])
    assert sent > 200
    assert (await service.client.get("/healthz")).status == 200
