"""Microsoft Graph (Entra ID groups): `GET /v1.0/groups/{id}/members` and `.../transitiveMembers`.

As Graph does it: an app-only token with GroupMember.Read.All (or Group.Read.All,
Directory.Read.All, ...) or 403 Authorization_RequestDenied; users' properties need User.Read.All
(User.ReadBasic.All: the basic profile), without it members come back with only `@odata.type` and
`id` ("limited information"). Pages of `$top` (default 100, at most 999; the emulator's
`members_page_size` may make them smaller) linked by `@odata.nextLink` with an opaque
`$skiptoken`; `$select` of user (and group) properties. Each request costs resource units against
Entra ID's limit per app and tenant (members 3, transitiveMembers 5, one less with `$select`, one
less with `$top` under 20; at least 1); over the limit the answer is 429 with Retry-After.
The OData cast `.../members/microsoft.graph.user` lists only the users (`microsoft.graph.group`
only the groups; the other member types, devices, contacts and service principals, none, as the
emulator's directory holds none); a cast to a type that cannot be a member is 400
Request_UnsupportedQuery, as the list-members pages say; `$count=true` adds
`@odata.count` and, an advanced query, needs the header `ConsistencyLevel: eventual`.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from .entra_directory import GROUP_PROPERTIES, USER_PROPERTIES
from .graph_routes import authorize
from .http_common import emulator_of, graph_error, note, skip_offset, skiptoken
from .tokens import app_id_of

routes = web.RouteTableDef()

MEMBER_READ_PERMISSIONS = frozenset(
    {
        "GroupMember.Read.All",
        "GroupMember.ReadWrite.All",
        "Group.Read.All",
        "Group.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)
USER_READ_PERMISSIONS = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
DEFAULT_PAGE = 100
MAX_PAGE = 999
UNSUPPORTED_OPTIONS = ("$filter", "$orderby", "$search", "$expand")
USER_CAST = "microsoft.graph.user"
GROUP_CAST = "microsoft.graph.group"
# The types a group's members can have ("Group membership" in the groups overview).
MEMBER_CASTS = frozenset({USER_CAST, GROUP_CAST, "microsoft.graph.device", "microsoft.graph.orgContact",
                          "microsoft.graph.servicePrincipal"})


def resource_units(*, transitive: bool, selected: bool, top: int | None) -> int:
    """Entra ID's cost of one read (Microsoft Graph throttling limits, identity and access)."""
    cost = 5 if transitive else 3
    if selected:
        cost -= 1
    if top is not None and top < 20:
        cost -= 1
    return max(1, cost)


def _bad_request(request: web.Request, message: str) -> web.Response:
    return graph_error(request, 400, "Request_BadRequest", message)


def _user_access(roles: set[str]) -> str:
    if roles & USER_READ_PERMISSIONS:
        return "full"
    return "basic" if "User.ReadBasic.All" in roles else "none"


def _counted(request: web.Request) -> bool | web.Response:
    """Whether `$count=true` was asked (then with ConsistencyLevel: eventual), or Graph's 400."""
    value = request.query.get("$count")
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        return _bad_request(request, f"Invalid value '{value}' for $count.")
    if value.lower() == "true" and request.headers.get("ConsistencyLevel", "").lower() != "eventual":
        return _bad_request(request, "$count is not currently supported.")
    return value.lower() == "true"


async def _members(request: web.Request, *, transitive: bool, cast: str | None = None) -> web.Response:
    emulator = emulator_of(request)
    claims = authorize(request)
    if isinstance(claims, web.Response):
        return claims
    roles = set(claims.get("roles") or [])
    if not roles & MEMBER_READ_PERMISSIONS:
        return graph_error(request, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    if cast is not None and cast not in MEMBER_CASTS:
        return graph_error(request, 400, "Request_UnsupportedQuery",
                           f"'{cast}' is not a type the members of a group can have.")
    group_id = request.match_info["group_id"]
    try:
        group_id = str(uuid.UUID(group_id))
    except ValueError:
        return _bad_request(request, f"Invalid object identifier '{group_id}'.")
    query = request.query
    for option in UNSUPPORTED_OPTIONS:
        if option in query:
            return graph_error(request, 400, "Request_UnsupportedQuery", f"The emulator does not support {option} here.")
    counted = _counted(request)
    if isinstance(counted, web.Response):
        return counted
    top: int | None = None
    if "$top" in query:
        try:
            top = int(query["$top"])
        except ValueError:
            top = -1
        if not 1 <= top <= MAX_PAGE:
            return _bad_request(request, f"Invalid page size specified: '{query['$top']}'. Must be between 1 and 999 inclusive.")
    select: list[str] | None = None
    if query.get("$select"):
        select = [name.strip() for name in query["$select"].split(",") if name.strip()]
        known = {USER_CAST: USER_PROPERTIES, GROUP_CAST: GROUP_PROPERTIES}.get(cast, (*USER_PROPERTIES, *GROUP_PROPERTIES))
        kind = cast or "microsoft.graph.directoryObject"
        for name in select:
            if name not in known:
                return _bad_request(request, f"Could not find a property named '{name}' on type '{kind}'.")
    offset = 0
    scope = f"{group_id}/{'transitive' if transitive else 'direct'}/{cast or 'all'}"
    if "$skiptoken" in query:
        found = skip_offset(query["$skiptoken"], scope)
        if found is None:
            return _bad_request(request, "Invalid paging token.")
        offset = found
    directory = emulator.directory
    if not directory.has_group(group_id):
        return graph_error(
            request,
            404,
            "Request_ResourceNotFound",
            f"Resource '{group_id}' does not exist or one of its queried reference-property objects are not present.",
        )

    units = resource_units(transitive=transitive, selected=select is not None, top=top)
    app_id = app_id_of(claims) or ""
    tenant_id = str(claims.get("tid") or emulator.config.tenant_id)
    quotas = emulator.quotas
    wait = quotas.acquire(quotas.identity_read_uses(app_id, tenant_id, units, len(directory.users)))
    note(request, group_id=group_id, resource_units=units)
    if wait:
        refused = graph_error(
            request,
            429,
            "Request_ThrottledTemporarily",
            "Your request is throttled temporarily. Please try after the time specified in Retry-After.",
            retry_after=wait,
        )
        refused.headers["x-ms-throttle-scope"] = f"Tenant_Application/Read/{app_id}/{tenant_id}"
        refused.headers["x-ms-throttle-information"] = "ResourceUnitLimitExceeded"
        return refused

    member_ids = directory.members(group_id, transitive=transitive)
    if cast is not None:
        member_ids = [m for m in member_ids
                      if (cast == USER_CAST and m in directory.users) or (cast == GROUP_CAST and directory.has_group(m))]
    size = min(top or DEFAULT_PAGE, max(1, emulator.config.members_page_size))
    page = member_ids[offset : offset + size]
    access = _user_access(roles)
    collection = {USER_CAST: "users", GROUP_CAST: "groups"}.get(cast, "directoryObjects")
    body: dict = {"@odata.context": f"{emulator.base_url}/v1.0/$metadata#{collection}"}
    if counted:
        body["@odata.count"] = len(member_ids)
    body["value"] = [directory.graph_object(member_id, select, user_access=access) for member_id in page]
    if offset + size < len(member_ids):
        body["@odata.nextLink"] = str(request.url.update_query({"$skiptoken": skiptoken(scope, offset + size)}))
    note(request, returned=len(page), offset=offset)
    return web.json_response(body, headers={"x-ms-resource-unit": str(units)})


@routes.get("/v1.0/groups/{group_id}/members", name="graph:group_members")
async def group_members(request: web.Request) -> web.Response:
    return await _members(request, transitive=False)


@routes.get("/v1.0/groups/{group_id}/transitiveMembers", name="graph:group_transitive_members")
async def group_transitive_members(request: web.Request) -> web.Response:
    return await _members(request, transitive=True)


@routes.get("/v1.0/groups/{group_id}/members/microsoft.graph.user", name="graph:group_member_users")
async def group_member_users(request: web.Request) -> web.Response:
    return await _members(request, transitive=False, cast=USER_CAST)


@routes.get("/v1.0/groups/{group_id}/transitiveMembers/microsoft.graph.user", name="graph:group_transitive_users")
async def group_transitive_users(request: web.Request) -> web.Response:
    return await _members(request, transitive=True, cast=USER_CAST)


@routes.get("/v1.0/groups/{group_id}/{relation:members|transitiveMembers}/{cast}", name="graph:group_members_cast")
async def group_members_cast(request: web.Request) -> web.Response:
    """Another OData cast of the members: a member type lists its own; any other type is 400."""
    return await _members(request, transitive=request.match_info["relation"] == "transitiveMembers",
                          cast=request.match_info["cast"])
