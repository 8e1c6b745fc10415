"""Reading Entra ID groups' members through Microsoft Graph with msgraph-sdk, page by page.

`GET /groups/{id}/members` (or `transitiveMembers`) with `$top` and `$select`, built by the SDK's
request builders and sent through its request adapter (token, middleware, retries, Graph's
errors as ODataError), then every `@odata.nextLink` until there is none, as msgraph-core's
PageIterator does. The pages are read as JSON rather than as the SDK's model objects: turning
each member into a `User` costs several milliseconds (msgraph-sdk-python issue #584), some
ten seconds for the demo organisation. Throttling (429 with Retry-After) and Graph's 503/504
are retried by the SDK's retry handler a few times; what still fails becomes a `GraphReadError`
saying in Danish what to do about it.
"""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Iterable

import aiohttp
import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph import GraphServiceClient
from msgraph.generated.groups.item.members.members_request_builder import MembersRequestBuilder
from msgraph.generated.groups.item.transitive_members.transitive_members_request_builder import (
    TransitiveMembersRequestBuilder,
)
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from handleplaner.directory.sync import EntraUser
from notifications.channels.email import graph_client
from notifications.tokens import ClientCredentialsTokens, TokenError

from .settings import Settings, SettingsError

SELECT = ["id", "displayName", "mail", "userPrincipalName", "jobTitle", "department",
          "mobilePhone", "accountEnabled", "userType"]
PAGE_SIZE = 999
RETRIES = 4
ERROR_MAPPING = {"4XX": ODataError, "5XX": ODataError}


class GraphReadError(Exception):
    """Graph could not give the groups' members; the message says why and what to do."""


@dataclass
class GroupMembers:
    members: dict[str, list[EntraUser]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # members that are not users, left out
    pages: int = 0


USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"


def _user(item: dict) -> EntraUser:
    return EntraUser(id=str(item.get("id") or "").lower(), display_name=item.get("displayName"),
                     mail=item.get("mail"), user_principal_name=item.get("userPrincipalName"),
                     job_title=item.get("jobTitle"), department=item.get("department"),
                     mobile_phone=item.get("mobilePhone"),
                     account_enabled=item.get("accountEnabled"), user_type=item.get("userType"))


async def _page(client: GraphServiceClient, request: RequestInformation) -> dict:
    raw = await client.request_adapter.send_primitive_async(request, "bytes", ERROR_MAPPING)
    try:
        page = json.loads(raw or b"{}")
    except ValueError as error:
        raise GraphReadError(f"Microsoft Graph svarede med noget, der ikke er JSON: {error}")
    if not isinstance(page, dict) or not isinstance(page.get("value", []), list):
        raise GraphReadError("Microsoft Graph svarede uden en liste af medlemmer (value).")
    return page


def _next_page(link: str) -> RequestInformation:
    request = RequestInformation()
    request.http_method = Method.GET
    request.url = link
    request.headers.try_add("Accept", "application/json")
    return request


def explain(error: Exception, group_id: str) -> str:
    """What went wrong, in Danish, with what to do about it."""
    if isinstance(error, TokenError):
        return (f"Adgangstoken til Microsoft Graph kunne ikke hentes: {error}. Tjek "
                "BEREDSKAB_TOKEN_URL, BEREDSKAB_BOT_APP_ID og BEREDSKAB_BOT_APP_SECRET.")
    if isinstance(error, (httpx.HTTPError, asyncio.TimeoutError, aiohttp.ClientError)):
        return f"Microsoft Graph kan ikke nås: {error!r}. Prøv igen senere."
    status = getattr(error, "response_status_code", None)
    detail = ""
    if isinstance(error, ODataError) and error.error is not None:
        detail = f" ({error.error.code}: {error.error.message})"
    if status == 401:
        return (f"Microsoft Graph afviste adgangstokenet (401){detail}. Tjek app-registreringens "
                "id, hemmelighed og tenant.")
    if status == 403:
        return (f"Appen mangler tilladelse til at læse gruppemedlemmer i Entra ID (403){detail}. "
                "Giv app-registreringen applikationstilladelserne GroupMember.Read.All og "
                "User.Read.All i Microsoft Graph, med administratorsamtykke.")
    if status == 404:
        return (f"Entra-gruppen {group_id} findes ikke (404){detail}. Ret gruppens id i "
                "mappingfilen.")
    if status == 429:
        return (f"Microsoft Graph begrænser stadig forespørgslerne (429), også efter nye "
                f"forsøg{detail}. Prøv igen om lidt.")
    if status is not None and status >= 500:
        return f"Microsoft Graph svarede med en fejl ({status}){detail}. Prøv igen senere."
    return f"Microsoft Graph svarede {status}{detail}."


async def read_group_members(client: GraphServiceClient, group_ids: Iterable[str], *,
                             transitive: Iterable[str] = (), page_size: int = PAGE_SIZE
                             ) -> GroupMembers:
    """Every user in each group (all pages); `GraphReadError` when Graph refuses or fails."""
    result = GroupMembers()
    transitive = set(transitive)
    for group_id in group_ids:
        users: list[EntraUser] = []
        try:
            if group_id in transitive:
                builder = client.groups.by_group_id(group_id).transitive_members
                query = TransitiveMembersRequestBuilder.TransitiveMembersRequestBuilderGetQueryParameters(
                    top=page_size, select=SELECT)
            else:
                builder = client.groups.by_group_id(group_id).members
                query = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(
                    top=page_size, select=SELECT)
            request = builder.to_get_request_information(RequestConfiguration(query_parameters=query))
            while request is not None:
                page = await _page(client, request)
                result.pages += 1
                for item in page.get("value") or []:
                    kind = item.get("@odata.type") if isinstance(item, dict) else None
                    if kind == USER_TYPE:
                        users.append(_user(item))
                    elif kind == GROUP_TYPE and group_id not in transitive:
                        result.notes.append(
                            f"Entra-gruppen {group_id} indeholder gruppen "
                            f"\"{item.get('displayName') or item.get('id')}\"; dens medlemmer tages "
                            "kun med, når mappingfilen siger transitive: true")
                    elif kind != GROUP_TYPE:
                        result.notes.append(f"Entra-gruppen {group_id}: medlemmet "
                                            f"{(item or {}).get('id')} er ikke en bruger og "
                                            "springes over")
                link = page.get("@odata.nextLink")
                request = _next_page(link) if link else None
        except (APIError, TokenError, httpx.HTTPError, asyncio.TimeoutError,
                aiohttp.ClientError) as error:
            raise GraphReadError(explain(error, group_id)) from error
        limited = [u for u in users if not (u.display_name or u.mail or u.user_principal_name)]
        if limited:
            raise GraphReadError(
                f"Microsoft Graph gav {len(limited)} medlemmer af Entra-gruppen {group_id} uden "
                "navn og e-mail: appen må se, hvem der er medlem, men ikke læse brugerne. Giv "
                "app-registreringen applikationstilladelsen User.Read.All med "
                "administratorsamtykke. Intet er ændret.")
        result.members[group_id] = users
    return result


def require_graph_settings(settings: Settings) -> None:
    missing = [f"BEREDSKAB_{name.upper()}" for name in ("token_url", "bot_app_id", "bot_app_secret")
               if not getattr(settings, name)]
    if missing:
        raise SettingsError("Mangler indstillinger til Microsoft Graph: " + ", ".join(missing))


@asynccontextmanager
async def graph_for(settings: Settings, tokens: ClientCredentialsTokens | None = None, *,
                    retries: int = RETRIES) -> AsyncIterator[GraphServiceClient]:
    """A Graph client for the settings' app registration (own token cache unless given) that
    retries throttled and unavailable answers ``retries`` times."""
    require_graph_settings(settings)
    http = None
    if tokens is None:
        http = aiohttp.ClientSession()
        tokens = ClientCredentialsTokens(http, token_url=settings.token_url,
                                         client_id=settings.bot_app_id,
                                         client_secret=settings.bot_app_secret)
    client = graph_client(tokens, settings.graph_base_url, retries=retries)
    try:
        yield client
    finally:
        transport = getattr(client.request_adapter, "_http_client", None)
        if transport is not None:
            await transport.aclose()
        if http is not None:
            await http.close()
