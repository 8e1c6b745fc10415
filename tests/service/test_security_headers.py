"""The headers on what the service sends: a Content-Security-Policy without inline script,
``Cache-Control: no-store`` on everything with personal data (pages, API, documents, exports),
``Referrer-Policy``, and HSTS outside demo mode when the public address is https."""
from __future__ import annotations

import re
import secrets

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.services import demo_settings

from tests.conftest import free_port

from .helpers import DEMO, demo_sign_in, noerrebro, secretariat_member, shooting


def policy(response) -> dict[str, str]:
    csp = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


def assert_private(response, what: str) -> None:
    assert response.headers.get("Cache-Control") == "no-store", what
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    rules = policy(response)
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], what
    assert rules["default-src"] == "default-src 'none'", what
    assert rules["frame-ancestors"] == "frame-ancestors 'none'", what
    assert "Strict-Transport-Security" not in response.headers, what  # demo mode, over http


async def _case(service) -> dict:
    editor = secretariat_member(service.engine)
    headers = {DEMO: editor.id}
    client = service.client
    incident = await (await client.post("/api/incidents", headers=headers,
                                        json=shooting(noerrebro(service.engine)))).json()
    plan = await (await client.post(f"/api/incidents/{incident['id']}/plan", headers=headers,
                                    json={"template": "skyderi", "period_days": 14})).json()
    sent = await client.post(f"/api/plans/{plan['id']}/send", headers=headers, json={})
    assert sent.status == 201, await sent.text()
    return {"editor": editor, "incident": incident["id"], "plan": plan["id"]}


async def test_pages_api_documents_and_exports_are_not_kept_and_allow_no_inline_script(service):
    case = await _case(service)
    client, incident, plan = service.client, case["incident"], case["plan"]
    await demo_sign_in(client, case["editor"].id)
    token = re.search(r'name="csrf" value="([^"]+)"', await (await client.get("/")).text()).group(1)
    reads = {
        "front page": "/", "incident page": f"/haendelser/{incident}",
        "activation form": "/aktiver", "statistics": "/statistik",
        "commitment board": f"/haendelser/{incident}/opgaver",
        "API": f"/api/incidents/{incident}", "API deliveries": f"/api/incidents/{incident}/deliveries",
        "plan document": f"/planer/{plan}/versioner/1", "plan PDF": f"/planer/{plan}/versioner/1.pdf",
        "case file export": f"/haendelser/{incident}/sagsakt.zip",
        "access copy export": f"/haendelser/{incident}/aktindsigt.zip",
        "sign-in page": "/log-ind", "information page": "/privatliv",
        "unknown page": "/findes-ikke",
    }
    for what, path in reads.items():
        response = await client.get(path, allow_redirects=False)
        assert response.status in (200, 404), (what, response.status, await response.text())
        assert_private(response, what)
    # Redirects and refusals too, and what a form post answers.
    closed = await client.post(f"/haendelser/{incident}/afslut", data={"csrf": token},
                               allow_redirects=False)
    assert closed.status == 303
    assert_private(closed, "form post")
    anonymous = await client.get("/api/incidents", cookies={"beredskab_session": "x"})
    assert anonymous.status == 401
    assert_private(anonymous, "refusal")


async def test_pages_take_scripts_and_styles_only_from_the_service(service):
    case = await _case(service)
    await demo_sign_in(service.client, case["editor"].id)
    pages = ["/", f"/haendelser/{case['incident']}", "/aktiver", "/statistik", "/log-ind",
             f"/haendelser/{case['incident']}/opgaver", f"/haendelser/{case['incident']}/plan"]
    assets = set()
    for path in pages:
        response = await service.client.get(path)
        html = await response.text()
        assert response.status == 200, (path, html)
        rules = policy(response)
        assert rules["script-src"] == "script-src 'self'" and rules["style-src"] == "style-src 'self'"
        # Nothing inline that the policy would block: the page would break in the browser.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<style\b", html), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), path
        assets |= set(re.findall(r'(?:src|href)="(/statisk/[^"]+)"', html))
    assert {"/statisk/beredskab.css", "/statisk/layout.js", "/statisk/live.js"} <= assets
    for asset in assets:
        response = await service.client.get(asset)
        assert response.status == 200, asset
        assert response.headers["Content-Type"].startswith(
            "text/css" if asset.endswith(".css") else "text/javascript")
        assert response.headers["Cache-Control"] == "no-cache"  # no personal data: may be kept
    missing = await service.client.get("/statisk/..%2Fbase.html.j2")
    assert missing.status == 404 and missing.headers["Cache-Control"] == "no-store"


async def test_the_plan_document_allows_its_own_style_and_no_script(service):
    case = await _case(service)
    response = await service.client.get(f"/planer/{case['plan']}/versioner/1",
                                        headers={DEMO: case["editor"].id})
    html = await response.text()
    rules = policy(response)
    assert "<style>" in html and rules["style-src"].startswith("style-src 'sha256-")
    assert "script-src" not in rules and rules["default-src"] == "default-src 'none'"
    assert response.headers["Cache-Control"] == "no-store"


async def _production(emulator, database_url: str, public_url: str, *, demo=False):
    settings = demo_settings(emulator.base_url, demo=demo, public_url=public_url,
                             database_url=database_url, session_secret=secrets.token_urlsafe(40))
    client = TestClient(TestServer(create_app(settings, start_worker=False), host="127.0.0.1",
                                   port=free_port()))
    await client.start_server()
    return client


async def test_hsts_outside_demo_mode_when_the_public_address_is_https(emulator, demo_database):
    url = demo_database[0]
    https = await _production(emulator, url, "https://beredskab.kk.example")
    try:
        for path in ("/log-ind", "/healthz", "/findes-ikke", "/statisk/beredskab.css"):
            response = await https.get(path, allow_redirects=False)
            assert response.headers["Strict-Transport-Security"] == "max-age=31536000", path
    finally:
        await https.close()
    for public_url, demo in (("http://127.0.0.1:8400", False), ("https://demo.example", True)):
        client = await _production(emulator, url, public_url, demo=demo)
        try:
            assert "Strict-Transport-Security" not in (await client.get("/log-ind")).headers
        finally:
            await client.close()
