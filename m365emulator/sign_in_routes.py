"""Entra ID's sign-in: `GET /{tenant}/oauth2/v2.0/authorize` (authorization code flow with PKCE) and the
token endpoint's `authorization_code` grant.

Without `login_hint` the authorize endpoint shows an account picker listing the emulator's people
(`EmulatorConfig.people`); with it the user is signed in at once (tests). As at Entra ID, a bad client
or redirect URI is shown as an error page; any other problem goes back to the redirect URI as
`error`/`error_description`.

Rules from "Microsoft identity platform and OAuth 2.0 authorization code flow"
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow): PKCE with
`S256` or `plain` (no `code_challenge_method` means `plain`); `state` comes back unchanged, on errors
too; the `redirect_uri` must exactly match one registered (`EmulatorConfig.redirect_uris`, when
given), else Entra ID shows its error page (AADSTS50011); the code is redeemed with the same `redirect_uri` and the `code_verifier`, once, within about
ten minutes. The emulator asks for PKCE (`code_challenge`) on every request, as the service always
sends it; Entra ID requires it only of single-page apps.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web
from yarl import URL

from .card_html import esc
from .http_common import emulator_of, note, token_error
from .page_html import page
from .sign_in import (CODE_LIFETIME, USER_ACCESS_TOKEN_LIFETIME, challenge_size_ok, pkce_challenge,
                      user_access_token)

routes = web.RouteTableDef()

VERIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _error_page(request: web.Request, aadsts: int, message: str) -> web.Response:
    """What Entra ID shows when it cannot send the browser back: its error page."""
    note(request, error_code=f"AADSTS{aadsts}")
    body = (
        "<h1>Log ind mislykkedes</h1><p>Beklager, men vi har problemer med at logge dig ind.</p>"
        f'<p class="notice"><strong>AADSTS{aadsts}</strong>: {esc(message)}</p>'
    )
    return web.Response(text=page("Log ind", body), content_type="text/html", charset="utf-8", status=400)


def _redirect_error(request: web.Request, redirect_uri: str, state: str | None, error: str, aadsts: int,
                    description: str) -> web.Response:
    note(request, error_code=f"AADSTS{aadsts}")
    query = {"error": error, "error_description": f"AADSTS{aadsts}: {description}",
             "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}"}
    if state is not None:
        query["state"] = state
    raise web.HTTPFound(str(URL(redirect_uri).update_query(query)))


def _valid_redirect_uri(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment


def _picker(request: web.Request) -> web.Response:
    """Microsoft's account picker: one link per known person, each adding `login_hint`."""
    people = [p for p in emulator_of(request).config.people if p.get("email")]
    items = "".join(
        f'<li><a class="button" href="{esc(request.rel_url.update_query(login_hint=p["email"]))}">'
        f'{esc(p.get("name") or p["email"])}</a> <span class="meta">{esc(p["email"])}</span></li>'
        for p in people
    )
    body = (
        "<h1>Vælg en konto</h1>"
        + (f'<ul style="list-style:none;padding:0;line-height:2.4">{items}</ul>' if items
           else '<p class="notice">Emulatoren kender ingen personer (EmulatorConfig.people).</p>')
    )
    return web.Response(text=page("Log ind", body), content_type="text/html", charset="utf-8")


@routes.get("/{tenant}/oauth2/v2.0/authorize", name="token:authorize")
async def authorize(request: web.Request) -> web.Response:
    emulator = emulator_of(request)
    tenant = request.match_info["tenant"]
    query = request.query
    client_id = query.get("client_id", "")
    redirect_uri = query.get("redirect_uri", "")
    state = query.get("state")
    login_hint = query.get("login_hint", "").strip()
    note(request, tenant=tenant, client_id=client_id or None, login_hint=login_hint or None)

    tenant_id = emulator.tenant_id_for(tenant)
    if tenant_id != emulator.config.tenant_id:
        return _error_page(request, 90002, f"Tenant '{tenant}' not found.")
    if not client_id:
        return _error_page(request, 900144, "The request body must contain the following parameter: 'client_id'.")
    if client_id not in emulator.config.client_secrets():
        return _error_page(
            request, 700016, f"Application with identifier '{client_id}' was not found in the directory '{tenant}'."
        )
    if not redirect_uri:
        return _error_page(request, 900144, "The request body must contain the following parameter: 'redirect_uri'.")
    registered = emulator.config.redirect_uris
    if not _valid_redirect_uri(redirect_uri) or (registered and redirect_uri not in registered):
        return _error_page(
            request, 50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
            f"configured for the application '{client_id}'.",
        )

    def refuse(error: str, aadsts: int, description: str):
        return _redirect_error(request, redirect_uri, state, error, aadsts, description)

    response_type = query.get("response_type", "")
    if not response_type:
        refuse("invalid_request", 900144, "The request body must contain the following parameter: 'response_type'.")
    if response_type != "code":
        refuse("unsupported_response_type", 700054,
               f"response_type '{response_type}' is not enabled for the application (the emulator supports 'code').")
    if query.get("response_mode", "query") != "query":
        refuse("invalid_request", 9002313, "Invalid request. The emulator answers with response_mode 'query' only.")
    scope = query.get("scope", "")
    if "openid" not in scope.split():
        refuse("invalid_scope", 70011, f"The provided value for the input parameter 'scope' is not valid: "
               f"'{scope}' does not contain 'openid'.")
    challenge = query.get("code_challenge", "")
    if not challenge:
        refuse("invalid_request", 900144, "The request body must contain the following parameter: 'code_challenge'.")
    # Without code_challenge_method the challenge is the plain verifier; both methods are supported.
    method = query.get("code_challenge_method", "plain")
    if method not in ("S256", "plain"):
        refuse("invalid_request", 9002313,
               f"Invalid request. code_challenge_method '{method}' is not supported (use 'S256' or 'plain').")
    if not challenge_size_ok(challenge, method):
        refuse("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")

    if not login_hint:
        return _picker(request)
    user = emulator.config.person_by_email(login_hint)
    if user is None:
        return _error_page(request, 50034, f"The user account {login_hint} does not exist in the {tenant} directory.")
    code = emulator.authorization_codes.issue(
        client_id=client_id, redirect_uri=redirect_uri, scope=scope, nonce=query.get("nonce"),
        code_challenge=challenge, code_challenge_method=method, tenant_id=tenant_id, user=dict(user),
    )
    note(request, user=str(user.get("email")).lower())
    answer = {"code": code, "session_state": "00000000-0000-0000-0000-000000000000"}
    if state is not None:
        answer["state"] = state
    raise web.HTTPFound(str(URL(redirect_uri).update_query(answer)))


def redeem_authorization_code(request: web.Request, tenant_id: str, client_id: str, form) -> web.Response:
    """The token endpoint's `authorization_code` grant, once the client is authenticated.

    The code is spent by the first redemption that names it, whether that succeeds or not.
    """
    emulator = emulator_of(request)
    code = str(form.get("code") or "")
    redirect_uri = str(form.get("redirect_uri") or "")
    verifier = str(form.get("code_verifier") or "")
    if not code:
        return token_error(request, 400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'code'.")
    entry = emulator.authorization_codes.get(code)
    if entry is None:
        return token_error(request, 400, "invalid_grant", 70000,
                           "The provided value for the 'code' parameter is not valid.")
    if entry.tenant_id != tenant_id:
        return token_error(request, 400, "invalid_grant", 700005,
                           "Provided Authorization Code is intended to use against other tenant, thus rejected.")
    if entry.redeemed:
        return token_error(request, 400, "invalid_grant", 54005,
                           "OAuth2 Authorization code was already redeemed, please retry with a new valid code.")
    entry.redeemed = True
    if emulator.authorization_codes.expired(entry):
        return token_error(request, 400, "invalid_grant", 70008,
                           f"The provided authorization code has expired (codes are valid {CODE_LIFETIME} seconds).")
    if entry.client_id != client_id:
        return token_error(request, 400, "invalid_grant", 70000,
                           f"The provided authorization code was not issued to the application '{client_id}'.")
    if not redirect_uri:
        return token_error(request, 400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'redirect_uri'.")
    if redirect_uri != entry.redirect_uri:
        return token_error(request, 400, "invalid_grant", 50011,
                           f"The redirect URI '{redirect_uri}' does not match the redirect URI used in the "
                           "authorization request.")
    if not verifier:
        return token_error(request, 400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'code_verifier'.")
    if not (43 <= len(verifier) <= 128 and set(verifier) <= VERIFIER_CHARS) or not hmac.compare_digest(
        pkce_challenge(verifier, entry.code_challenge_method), entry.code_challenge
    ):
        return token_error(request, 400, "invalid_grant", 501481,
                           "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
    note(request, user=str(entry.user.get("email")).lower())
    issuer = emulator.issuer_for(tenant_id)
    return web.json_response(
        {
            "token_type": "Bearer",
            "scope": entry.scope,
            "expires_in": USER_ACCESS_TOKEN_LIFETIME,
            "ext_expires_in": USER_ACCESS_TOKEN_LIFETIME,
            "access_token": user_access_token(emulator.aad_key, issuer=issuer, tenant_id=tenant_id,
                                              client_id=client_id, user=entry.user, scope=entry.scope),
            "id_token": emulator.issue_id_token(client_id=client_id, user=entry.user, nonce=entry.nonce,
                                                tenant_id=tenant_id),
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
