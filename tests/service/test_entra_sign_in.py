"""Signing in with Microsoft (Entra ID, OpenID Connect code flow with PKCE) against the emulator, with the
service in production mode (demo=False): the whole flow, and every way it must refuse; the session's idle
and absolute timeouts, and signing out."""
from __future__ import annotations

import base64
import json
import secrets
import time
from http.cookies import SimpleCookie

import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import Session
from yarl import URL

from bot import web_session
from bot.app import create_app
from bot.entra_sign_in import CALLBACK_PATH, ENTRA_SIGN_IN, SignInFailed
from bot.keys import SERVICES
from bot.serve import emulator_people
from bot.services import demo_settings
from bot.sign_in_pages import ATTEMPT_COOKIE
from handleplaner.directory import queries as directory
from handleplaner.directory.models import Person
from m365emulator.sign_in import id_token_claims
from tests.conftest import Running, free_port

from .helpers import non_activator, secretariat_member


@pytest.fixture
async def production(emulator, demo_database):
    """The service with demo=False, every Microsoft address (Entra ID included) at the emulator."""
    url, engine = demo_database
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = demo_settings(emulator.base_url, demo=False, public_url=base, database_url=url,
                             session_secret=secrets.token_urlsafe(40), worker_poll_seconds=0.05)
    settings.require_production_settings()
    assert not settings.demo and settings.entra_sign_in
    app = create_app(settings, start_worker=False)
    client = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    emulator.config.people = emulator_people(engine)
    emulator.config.redirect_uris = [f"{base}{CALLBACK_PATH}"]
    running = Running(client=client, services=app[SERVICES], emulator=emulator, base=base)
    running.app = app
    yield running
    await client.close()


async def start(running, next_path: str = "/") -> URL:
    """`/log-ind/microsoft`: the address at the emulator's authorize endpoint it sends us to."""
    response = await running.client.get("/log-ind/microsoft", params={"next": next_path},
                                        allow_redirects=False)
    assert response.status == 302, await response.text()
    authorize = URL(response.headers["Location"])
    assert str(authorize).startswith(f"{running.emulator.base_url}/")
    assert authorize.query["code_challenge_method"] == "S256" and authorize.query["nonce"]
    return authorize


async def pick(running, authorize: URL, email: str) -> URL:
    """The person picks their account at Microsoft: where Microsoft sends the browser back."""
    response = await running.client.session.get(authorize.update_query(login_hint=email),
                                                allow_redirects=False)
    assert response.status == 302, await response.text()
    return URL(response.headers["Location"])


async def sign_in(running, email: str, *, next_path: str = "/", headers=None):
    callback = await pick(running, await start(running, next_path), email)
    return await running.client.session.get(callback, allow_redirects=False, headers=headers)


async def signed_in_as(running) -> str | None:
    """Who the front page greets, or None if it sends us to sign in."""
    response = await running.client.get("/", allow_redirects=False)
    if response.status == 303:
        assert response.headers["Location"].startswith("/log-ind")
        return None
    assert response.status == 200
    return await response.text()


def set_cookies(response) -> str:
    return "\n".join(response.headers.getall("Set-Cookie", []))


def signs_in(response) -> bool:
    """Whether the response sets a (non-empty) session cookie."""
    return any(c.startswith(f"{web_session.COOKIE}=") and not c.startswith(f'{web_session.COOKIE}=""')
               for c in response.headers.getall("Set-Cookie", []))


# -- the flow --------------------------------------------------------------------------------------

async def test_sign_in_page_offers_microsoft_and_no_demo_picker(production):
    response = await production.client.get("/log-ind", params={"next": "/aktiver"})
    assert response.status == 200
    page = await response.text()
    assert "Log ind med Microsoft" in page and "/log-ind/microsoft?next=/aktiver" in page
    assert 'name="person"' not in page and "Demo" not in page


async def test_a_person_signs_in_with_microsoft(production):
    member = secretariat_member(production.engine)
    response = await sign_in(production, member.email.upper(), next_path="/aktiver")
    assert response.status == 303 and response.headers["Location"] == "/aktiver"
    assert signs_in(response)
    cookies = set_cookies(response)
    session_cookie = next(c for c in response.headers.getall("Set-Cookie") if c.startswith(web_session.COOKIE))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Secure" not in session_cookie
    assert f"{ATTEMPT_COOKIE}=\"\"" in cookies  # the attempt is cleared

    assert member.name in await signed_in_as(production)
    assert (await production.client.get("/aktiver")).status == 200

    authorize, token = production.emulator.log.select("token")[-2:]
    assert authorize["path"].endswith("/oauth2/v2.0/authorize") and authorize["status"] == 302
    assert token["status"] == 200 and token["body"]["grant_type"] == "authorization_code"
    assert token["body"]["code_verifier"] and token["body"]["client_secret"] == "***"
    assert token["user"] == member.email


async def test_the_session_cookie_is_secure_behind_https(production):
    member = secretariat_member(production.engine)
    response = await sign_in(production, member.email, headers={"X-Forwarded-Proto": "https"})
    assert response.status == 303
    assert "Secure" in next(c for c in response.headers.getall("Set-Cookie") if c.startswith(web_session.COOKIE))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "aktiver"])
async def test_only_a_local_next_target_is_followed(production, target):
    response = await sign_in(production, secretariat_member(production.engine).email, next_path=target)
    assert response.status == 303 and response.headers["Location"] == "/"


async def test_the_account_picker_lists_the_directory(production):
    authorize = await start(production)
    response = await production.client.session.get(authorize.without_query_params("login_hint"))
    page = await response.text()
    assert secretariat_member(production.engine).email in page


# -- refusals -------------------------------------------------------------------------------------

async def test_a_pkce_verifier_that_does_not_match_is_refused_by_microsoft(production):
    callback = await pick(production, await start(production), secretariat_member(production.engine).email)
    # Replace the attempt with one holding another verifier (same state and nonce).
    raw = production.client.session.cookie_jar.filter_cookies(URL(production.base + "/log-ind/microsoft"))
    attempts = URLSafeTimedSerializer(production.services.settings.session_secret,
                                      salt="ssp-beredskab-entra-sign-in")
    attempt = attempts.loads(raw[ATTEMPT_COOKIE].value)
    attempt["code_verifier"] = secrets.token_urlsafe(64)
    replaced = SimpleCookie()
    replaced[ATTEMPT_COOKIE] = attempts.dumps(attempt)
    replaced[ATTEMPT_COOKIE]["path"] = "/log-ind/microsoft"
    production.client.session.cookie_jar.update_cookies(replaced, URL(production.base))
    response = await production.client.session.get(callback, allow_redirects=False)
    assert response.status == 400
    assert "Microsoft godkendte ikke log ind" in await response.text()
    assert production.emulator.log.select("token")[-1]["error_code"] == "AADSTS501481"
    assert await signed_in_as(production) is None


@pytest.mark.parametrize("changes", [
    {"aud": "22222222-2222-2222-2222-222222222222"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200, "nbf": int(time.time()) - 7200},
    {"nonce": "en-anden-nonce"},
    {"nonce": None},
    {"tid": "00000000-0000-0000-0000-0000000000bb"},
    {"iss": "https://login.microsoftonline.com/00000000-0000-0000-0000-0000000000bb/v2.0"},
], ids=["audience", "expired", "nonce", "no-nonce", "tenant", "issuer"])
async def test_an_id_token_that_does_not_hold_is_refused(production, changes):
    production.emulator.id_token_changes = changes
    response = await sign_in(production, secretariat_member(production.engine).email)
    assert response.status == 400
    assert "Svaret fra Microsoft kunne ikke bekræftes" in await response.text()
    assert not signs_in(response)
    assert await signed_in_as(production) is None


async def test_an_id_token_signed_with_an_unpublished_key_is_refused(production):
    production.emulator.id_token_key = production.emulator.rogue_key()
    response = await sign_in(production, secretariat_member(production.engine).email)
    assert response.status == 400
    assert await signed_in_as(production) is None


async def test_a_tampered_id_token_is_refused(production):
    entra = production.app[ENTRA_SIGN_IN]
    emulator = production.emulator
    member = secretariat_member(production.engine)
    user = {"name": member.name, "email": member.email, "teams_user_id": member.teams_user_id}
    good = emulator.issue_id_token(client_id=entra.client_id, user=user, nonce="n-1")
    assert (await entra.identity(good, nonce="n-1")).email == member.email

    header, payload, signature = good.split(".")
    changed = dict(jwt.decode(good, options={"verify_signature": False}), email="chef@kk.example")
    other = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    claims = id_token_claims(issuer=emulator.aad_issuer, tenant_id=emulator.config.tenant_id,
                             client_id=entra.client_id, user=user, nonce="n-1")
    forged_with_our_kid = jwt.encode(claims, emulator.rogue_key().private_key, algorithm="RS256",
                                     headers={"kid": emulator.aad_key.kid})
    unsigned = jwt.encode(claims, None, algorithm="none")
    for bad in (f"{header}.{other}.{signature}", f"{header}.{payload}.{signature[:-4]}AAAA",
                forged_with_our_kid, unsigned, "ikke-et-token"):
        with pytest.raises(SignInFailed):
            await entra.identity(bad, nonce="n-1")
    with pytest.raises(SignInFailed):
        await entra.identity(good, nonce="n-2")


async def test_someone_not_in_the_directory_is_refused(production):
    production.emulator.config.people.append({"name": "Udefra Person", "email": "udefra@kk.example"})
    response = await sign_in(production, "udefra@kk.example")
    assert response.status == 403 and not signs_in(response)
    page = await response.text()
    assert "Ingen adgang" in page and "udefra@kk.example" in page and "findes ikke" in page
    assert await signed_in_as(production) is None


async def test_someone_no_longer_active_is_refused(production):
    member = non_activator(production.engine)
    with Session(production.engine) as session:
        session.get(Person, member.id).active = False
        session.commit()
    response = await sign_in(production, member.email)
    assert response.status == 403 and "Din adgang til SSP Beredskab er lukket" in await response.text()
    assert await signed_in_as(production) is None


async def test_another_microsoft_account_with_the_same_address_is_refused(production):
    member = secretariat_member(production.engine)
    assert member.teams_user_id
    for person in production.emulator.config.people:
        if person["email"] == member.email:
            person["teams_user_id"] = "99999999-0000-0000-0000-000000000099"
    response = await sign_in(production, member.email)
    assert response.status == 403 and "passer ikke" in await response.text()
    assert await signed_in_as(production) is None


async def test_a_forged_state_is_refused_and_the_code_not_used(production):
    callback = await pick(production, await start(production), secretariat_member(production.engine).email)
    before = len(production.emulator.log.select("token"))
    response = await production.client.session.get(callback.update_query(state="forfalsket"),
                                                   allow_redirects=False)
    assert response.status == 400 and "Log ind kunne ikke bekræftes" in await response.text()
    assert len(production.emulator.log.select("token")) == before
    assert await signed_in_as(production) is None


async def test_an_answer_without_the_attempt_cookie_is_refused(production):
    callback = await pick(production, await start(production), secretariat_member(production.engine).email)
    production.client.session.cookie_jar.clear()
    response = await production.client.session.get(callback, allow_redirects=False)
    assert response.status == 400 and "tog for lang tid" in await response.text()
    assert await signed_in_as(production) is None


@pytest.mark.parametrize("query, text", [
    ({"error": "access_denied", "error_description": "AADSTS65004: User declined to consent."},
     "Log ind blev afbrudt"),
    ({"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain ..."},
     "AADSTS900144"),
])
async def test_an_error_from_microsoft_is_shown_in_danish(production, query, text):
    await start(production)
    response = await production.client.get("/log-ind/microsoft/svar", params={**query, "state": "x"},
                                           allow_redirects=False)
    assert response.status == 400
    page = await response.text()
    assert text in page and "Log ind mislykkedes" in page and "<script" not in page
    assert await signed_in_as(production) is None


async def test_demo_sign_in_is_refused_outside_demo_mode(production):
    member = secretariat_member(production.engine)
    response = await production.client.post("/log-ind", data={"person": member.id}, allow_redirects=False)
    assert response.status == 501
    assert not signs_in(response)
    assert await signed_in_as(production) is None


async def test_microsoft_is_unreachable(production):
    await production.emulator.runner.cleanup()
    response = await production.client.get("/log-ind/microsoft", allow_redirects=False)
    assert response.status == 502 and "Microsoft kunne ikke nås" in await response.text()


# -- the session ----------------------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(web_session, "clock", lambda: now[0])
    return now


async def test_an_idle_session_ends(production, clock):
    member = secretariat_member(production.engine)
    assert (await sign_in(production, member.email)).status == 303
    clock[0] += web_session.IDLE_TIMEOUT - 60
    assert member.name in await signed_in_as(production)
    clock[0] += web_session.IDLE_TIMEOUT - 60  # used a moment ago: the cookie was re-issued
    assert member.name in await signed_in_as(production)
    clock[0] += web_session.IDLE_TIMEOUT + 1
    response = await production.client.get("/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/log-ind")
    assert f'{web_session.COOKIE}=""' in set_cookies(response)  # the dead cookie is cleared


async def test_a_session_in_use_still_ends_after_max_age(production, clock):
    member = secretariat_member(production.engine)
    assert (await sign_in(production, member.email)).status == 303
    for _ in range(web_session.MAX_AGE // 3600 - 1):
        clock[0] += 3600
        assert member.name in await signed_in_as(production)
    clock[0] += 3601
    assert await signed_in_as(production) is None


async def test_signing_out_clears_the_session(production, clock):
    member = secretariat_member(production.engine)
    assert (await sign_in(production, member.email)).status == 303
    clock[0] += web_session.REFRESH_AFTER + 1  # a refresh is due, but must not undo the sign-out
    page = await (await production.client.get("/")).text()
    token = page.split('name="csrf" value="')[1].split('"')[0]
    response = await production.client.post("/log-ud", data={"csrf": token},
                                            allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/log-ind"
    assert set_cookies(response).count(web_session.COOKIE) == 1
    assert f'{web_session.COOKIE}=""' in set_cookies(response)
    assert await signed_in_as(production) is None


# -- demo mode ------------------------------------------------------------------------------------

async def test_demo_mode_offers_both_and_microsoft_sign_in_works(service):
    page = await (await service.client.get("/log-ind")).text()
    assert "Log ind med Microsoft" in page and 'name="person"' in page
    member = secretariat_member(service.engine)
    response = await sign_in(service, member.email, next_path="/aktiver")
    assert response.status == 303 and response.headers["Location"] == "/aktiver"
    assert member.name in await signed_in_as(service)
    with Session(service.engine) as session:
        assert directory.person_by_email(session, member.email).id == member.id
