"""Sessions end: logging out, and an administrator's "log this person out everywhere", end the
session in the database, so the old cookie signs no one in on any replica; and signing in and
out is refused when the form comes from another site (CSRF)."""
from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.cli import main
from bot.web_session import COOKIE, now
from handleplaner.directory import sessions

from tests.conftest import free_port

from .helpers import DEMO, demo_sign_in, non_activator, noerrebro, secretariat_member, shooting

ELSEWHERE = {"Origin": "https://angriber.example"}


def cookie_of(client) -> str:
    return client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value


def token_in(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]


async def signed_in_as(client, cookie: str) -> bool:
    """Whether the cookie opens the front page (else the browser is sent to sign in)."""
    response = await client.get("/", cookies={COOKIE: cookie}, allow_redirects=False)
    if response.status == 303:
        assert response.headers["Location"].startswith("/log-ind")
        return False
    assert response.status == 200, await response.text()
    return True


async def sign_out(client) -> None:
    token = token_in(await (await client.get("/")).text())
    response = await client.post("/log-ud", data={"csrf": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/log-ind"


async def test_the_old_cookie_no_longer_works_after_logging_out(service):
    secretary = secretariat_member(service.engine)
    created = await service.client.post("/api/incidents", headers={DEMO: secretary.id},
                                        json=shooting(noerrebro(service.engine)))
    incident = (await created.json())["id"]
    await demo_sign_in(service.client, secretary.id)
    old = cookie_of(service.client)
    assert await signed_in_as(service.client, old)

    await sign_out(service.client)

    # Someone who kept a copy of the cookie (a shared computer, a proxy log) gets nothing.
    assert not await signed_in_as(service.client, old)
    page = await service.client.get(f"/haendelser/{incident}", cookies={COOKIE: old},
                                    allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/log-ind")
    api = await service.client.get(f"/api/incidents/{incident}", cookies={COOKIE: old})
    assert api.status == 401
    # ... and the refused cookie is cleared in the browser.
    assert f'{COOKIE}=""' in " ".join(api.headers.getall("Set-Cookie"))


async def test_logging_out_on_one_replica_ends_the_session_on_the_other(service):
    """Replicas share only the database: the session's end must be seen there, at once."""
    person = secretariat_member(service.engine)
    other = TestClient(TestServer(create_app(service.services.settings, start_worker=False),
                                  host="127.0.0.1", port=free_port()))
    await other.start_server()
    try:
        await demo_sign_in(service.client, person.id)
        cookie = cookie_of(service.client)
        assert await signed_in_as(other, cookie)  # the second replica knows the session

        await sign_out(service.client)  # on the first replica

        assert not await signed_in_as(other, cookie)
        assert not await signed_in_as(service.client, cookie)
    finally:
        await other.close()


async def test_an_administrator_logs_a_person_out_everywhere(service, capsys):
    person, bystander = secretariat_member(service.engine), non_activator(service.engine)
    other = TestClient(TestServer(create_app(service.services.settings, start_worker=False),
                                  host="127.0.0.1", port=free_port()))
    await other.start_server()
    try:
        # Signed in twice (two browsers, on two replicas), and someone else once.
        await demo_sign_in(service.client, person.id)
        first = cookie_of(service.client)
        await demo_sign_in(other, person.id)
        second = cookie_of(other)
        await demo_sign_in(other, bystander.id)  # the second browser's session ends (new sign-in)
        assert not await signed_in_as(other, second)
        await demo_sign_in(other, person.id)
        second = cookie_of(other)
        bystanders = TestClient(TestServer(create_app(service.services.settings,
                                                      start_worker=False),
                                           host="127.0.0.1", port=free_port()))
        await bystanders.start_server()
        await demo_sign_in(bystanders, bystander.id)
        kept = cookie_of(bystanders)

        url = service.services.settings.database_url
        assert main(["sessions", "revoke", person.email.upper(), "--database-url", url]) == 0
        assert f"{person.name} ({person.id}) er logget ud overalt: 2 åbne" in capsys.readouterr().out

        for client in (service.client, other):
            for cookie in (first, second):
                assert not await signed_in_as(client, cookie)
        assert await signed_in_as(service.client, kept)  # only that person
        assert sessions.open_sessions(service.engine, person_id=person.id, now=now()) == []
        await bystanders.close()
    finally:
        await other.close()


async def test_revoking_an_unknown_person_says_so(service, capsys):
    url = service.services.settings.database_url
    assert main(["sessions", "revoke", "p9999", "--database-url", url]) == 2
    assert "Personen 'p9999' findes ikke i organisationen" in capsys.readouterr().err


async def test_a_sign_in_posted_from_another_site_is_refused(service):
    victim = service.client
    person = secretariat_member(service.engine)
    # The attacker's page posts the attacker's choice, with no token ...
    refused = await victim.post("/log-ind", data={"person": person.id}, headers=ELSEWHERE,
                                allow_redirects=False)
    assert refused.status == 403
    assert "Log ind kunne ikke bekræftes" in await refused.text()
    # ... or with a token the attacker got from the sign-in page in their own browser.
    attacker = TestClient(TestServer(create_app(service.services.settings, start_worker=False),
                                     host="127.0.0.1", port=free_port()))
    await attacker.start_server()
    try:
        stolen = token_in(await (await attacker.get("/log-ind")).text())
    finally:
        await attacker.close()
    refused = await victim.post("/log-ind", data={"person": person.id, "csrf": stolen},
                                headers=ELSEWHERE, allow_redirects=False)
    assert refused.status == 403
    front = await victim.get("/", allow_redirects=False)
    assert front.status == 303 and front.headers["Location"].startswith("/log-ind")
    # The page offers the form again, with a working token.
    page = await refused.text()
    assert (await victim.post("/log-ind", data={"person": person.id, "csrf": token_in(page)},
                              allow_redirects=False)).status == 303
    assert person.name in await (await victim.get("/")).text()


async def test_a_log_out_posted_from_another_site_is_refused(service):
    person = secretariat_member(service.engine)
    await demo_sign_in(service.client, person.id)
    cookie = cookie_of(service.client)
    for form in ({}, {"csrf": "gaettet"}):
        refused = await service.client.post("/log-ud", data=form, headers=ELSEWHERE,
                                            allow_redirects=False)
        assert refused.status == 403
        assert "Log ud kunne ikke bekræftes" in await refused.text()
        assert not any(c.startswith(f'{COOKIE}=""') for c in refused.headers.getall("Set-Cookie", []))
        assert await signed_in_as(service.client, cookie)  # still signed in


async def test_a_new_sign_in_starts_a_new_session_and_ends_the_old_one(service):
    """No session fixation: the key and the CSRF token change when someone signs in."""
    person = secretariat_member(service.engine)
    page = await (await service.client.get("/log-ind")).text()
    before = token_in(page)
    await service.client.post("/log-ind", data={"person": person.id, "csrf": before})
    first = cookie_of(service.client)
    after = token_in(await (await service.client.get("/")).text())
    assert after != before
    await demo_sign_in(service.client, person.id)
    assert cookie_of(service.client) != first
    assert not await signed_in_as(service.client, first)


async def test_logging_out_without_a_session_just_goes_to_sign_in(service):
    response = await service.client.post("/log-ud", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/log-ind"
