"""Microsoft Graph directory (Entra ID groups) as the service uses it, checked against the emulator.

`beredskab directory sync` reads each SSP group's members with `GET /groups/{id}/members` (or
`transitiveMembers` when the mapping says so), `$top=999` and a `$select` of user properties,
following every `@odata.nextLink` (bot/entra_groups.py, msgraph-sdk's request adapter).

Documentation checked against:
- https://learn.microsoft.com/en-us/graph/api/group-list-members
- https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers
- https://learn.microsoft.com/en-us/graph/paging
- https://learn.microsoft.com/en-us/graph/query-parameters
- https://learn.microsoft.com/en-us/graph/aad-advanced-queries
- https://learn.microsoft.com/en-us/graph/permissions-overview
- https://learn.microsoft.com/en-us/graph/throttling-limits
- https://learn.microsoft.com/en-us/graph/errors
"""

from __future__ import annotations

import pytest

from bot.entra_groups import SELECT, GraphReadError, read_group_members
from m365emulator.group_routes import resource_units

from .mailcal_support import graph_error, make_graph  # noqa: F401

GROUP = "3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0001"
NESTED = "3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0002"


def user(n: int) -> dict:
    return {"id": f"bbbbbbbb-0000-4000-8000-{n:012d}", "displayName": f"Fiktiv Person {n}",
            "mail": f"fiktiv.person{n}@kk.example", "userPrincipalName": f"fiktiv.person{n}@kk.example",
            "jobTitle": "Pædagog", "department": "BUF"}


def directory(count: int = 7) -> dict:
    users = [user(n) for n in range(1, count + 1)]
    return {"users": users,
            "groups": [{"id": GROUP, "displayName": "SSP Test", "members": [u["id"] for u in users[:-2]] + [NESTED]},
                       {"id": NESTED, "displayName": "Indlejret", "members": [u["id"] for u in users[-2:]]}]}


@pytest.fixture
async def entra(make_graph):
    return await make_graph(directory=directory())


async def members(graph, query: str = "", suffix: str = "members", **headers):
    return await graph.client.get(f"/v1.0/groups/{GROUP}/{suffix}{query}", headers=await graph.headers(**headers))


async def test_the_services_read_follows_every_next_link(make_graph):
    """paging: "When more results are available, Microsoft Graph returns an @odata.nextLink property
    ... Use the entire URL in the @odata.nextLink property in a GET request to retrieve the next page";
    the server may return fewer than $top asks. The service reads users only and notes the nested group."""
    graph = await make_graph(directory=directory(), members_page_size=2)
    read = await read_group_members(graph.sdk(), [GROUP])
    assert [u.display_name for u in read.members[GROUP]] == [f"Fiktiv Person {n}" for n in range(1, 6)]
    assert read.pages == 3 and any("Indlejret" in note for note in read.notes)
    queries = [r["query"] for r in graph.emulator.log.select("graph")]
    assert "$top=999" in queries[0] and f"$select={','.join(SELECT)}" in queries[0]
    assert all("$skiptoken=" in q and f"$select={','.join(SELECT)}" in q for q in queries[1:])


@pytest.mark.parametrize("top, status", [("0", 400), ("1", 200), ("999", 200), ("1000", 400), ("mange", 400)])
async def test_top_is_between_1_and_999(entra, top, status):
    """paging and query-parameters ($top): the page size of directory object collections is at most
    999; outside 1 to 999 Graph answers 400 Request_BadRequest."""
    response = await members(entra, f"?$top={top}")
    if status == 200:
        assert response.status == 200
        assert len((await response.json())["value"]) == min(int(top), 6)
    else:
        await graph_error(response, 400, "Request_BadRequest")


async def test_default_page_is_100_and_links_carry_the_query(make_graph):
    """paging: a collection is returned in pages; group members 100 at a time unless $top says otherwise.
    The @odata.nextLink keeps the request's query options ($select)."""
    many = {"users": [user(n) for n in range(1, 151)],
            "groups": [{"id": GROUP, "displayName": "Stor", "members": [user(n)["id"] for n in range(1, 151)]}]}
    graph = await make_graph(directory=many)
    first = await (await members(graph, "?$select=displayName")).json()
    assert len(first["value"]) == 100 and "$select=displayName" in first["@odata.nextLink"]
    second = await graph.client.get(first["@odata.nextLink"].removeprefix(graph.base_url),
                                    headers=await graph.headers())
    body = await second.json()
    assert len(body["value"]) == 50 and "@odata.nextLink" not in body


async def test_members_carry_their_odata_type_and_only_selected_properties(entra):
    """group-list-members: a collection of directoryObject, each typed with @odata.type
    (#microsoft.graph.user, #microsoft.graph.group); query-parameters, $select: only the properties
    named are returned."""
    body = await (await members(entra, "?$select=displayName,mail")).json()
    kinds = [m["@odata.type"] for m in body["value"]]
    assert kinds == ["#microsoft.graph.user"] * 5 + ["#microsoft.graph.group"]
    assert set(body["value"][0]) - {"@odata.type", "id"} == {"displayName", "mail"}
    assert "jobTitle" not in body["value"][0]


async def test_select_of_an_unknown_property_is_a_400(entra):
    """query-parameters, $select: a property the type does not have is refused (400)."""
    await graph_error(await members(entra, "?$select=displayName,favouriteColour"), 400, "Request_BadRequest")


async def test_the_user_cast_lists_only_users(entra):
    """group-list-members, "Optional query parameters": "OData cast is enabled. For example,
    /groups/{id}/members/microsoft.graph.user retrieves group members that are users." """
    response = await members(entra, "?$select=displayName", suffix="members/microsoft.graph.user")
    assert response.status == 200
    kinds = {m["@odata.type"] for m in (await response.json())["value"]}
    assert kinds == {"#microsoft.graph.user"}


async def test_transitive_members_include_nested_groups_members(entra):
    """group-list-transitivemembers: "Get a list of the group's members. A group can have users,
    devices, organizational contacts, and other groups as members. This operation is transitive." """
    read = await read_group_members(entra.sdk(), [GROUP], transitive=[GROUP])
    assert len(read.members[GROUP]) == 7 and read.notes == []


async def test_count_needs_consistency_level_eventual(entra):
    """aad-advanced-queries: $count on directory objects is an advanced query, which needs the
    ConsistencyLevel header set to eventual; with it the answer carries @odata.count."""
    await graph_error(await members(entra, "?$count=true"), 400, "Request_BadRequest")
    response = await members(entra, "?$count=true", ConsistencyLevel="eventual")
    assert response.status == 200 and (await response.json())["@odata.count"] == 6


async def test_without_a_member_read_permission_it_is_403_and_the_service_says_what_to_grant(entra):
    """group-list-members, "Permissions": Application GroupMember.Read.All (least privileged),
    Group.Read.All, Directory.Read.All and their ReadWrite forms; without one, 403
    Authorization_RequestDenied."""
    entra.grant("User.Read.All")
    await graph_error(await members(entra), 403, "Authorization_RequestDenied")
    with pytest.raises(GraphReadError, match="GroupMember.Read.All"):
        await read_group_members(entra.sdk(), [GROUP])


async def test_without_user_read_members_come_with_limited_information(entra):
    """permissions-overview, "Limited information returned for inaccessible member objects": only
    @odata.type and id, other properties null. The service refuses to sync on such members."""
    entra.grant("GroupMember.Read.All")
    body = await (await members(entra, "?$select=id,displayName,mail")).json()
    first = body["value"][0]
    assert first["@odata.type"] == "#microsoft.graph.user" and first["id"]
    assert first["displayName"] is None and first["mail"] is None
    with pytest.raises(GraphReadError, match="User.Read.All"):
        await read_group_members(entra.sdk(), [GROUP])


async def test_unknown_and_malformed_group_ids(entra):
    """errors, "HTTP status codes": 404 Not Found, "The requested resource doesn't exist"; 400 for a
    malformed request (an id that is not a GUID)."""
    missing = await entra.client.get("/v1.0/groups/3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0999/members",
                                     headers=await entra.headers())
    await graph_error(missing, 404, "Request_ResourceNotFound")
    await graph_error(await entra.client.get("/v1.0/groups/ikke-et-id/members", headers=await entra.headers()), 400)
    with pytest.raises(GraphReadError, match="findes ikke"):
        await read_group_members(entra.sdk(), ["3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0999"])


async def test_over_the_identity_limit_is_429_with_retry_after(entra):
    """throttling-limits, "Identity and access service limits": resource units per app and tenant in
    10 seconds (3,500 for a tenant under 50 users); a request over it is 429 with Retry-After."""
    tenant = entra.emulator.config.tenant_id
    app = entra.emulator.config.bot_app_id
    # Left to the app: one unit fewer than even a members read with $select costs.
    entra.emulator.quotas.identity["S"].record((app, tenant), 3_500 - resource_units(
        transitive=False, selected=True, top=None) + 1)
    response = await members(entra)
    await graph_error(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    with pytest.raises(GraphReadError, match="429"):
        await read_group_members(entra.sdk(), [GROUP])


async def test_the_user_cast_of_transitive_members_lists_nested_users_only(entra):
    """group-list-transitivemembers, "Optional query parameters": "OData cast is also enabled, for
    example, you can cast to get just the transitive members that are users"
    (`/groups/{id}/transitiveMembers/microsoft.graph.user`); the nested group's users are in it,
    the nested group itself is not; $select and $top apply as on the uncast list."""
    response = await members(entra, "?$select=displayName&$top=999", suffix="transitiveMembers/microsoft.graph.user")
    assert response.status == 200
    value = (await response.json())["value"]
    assert {m["@odata.type"] for m in value} == {"#microsoft.graph.user"}
    assert len(value) == 7 and all(set(m) == {"@odata.type", "id", "displayName"} for m in value)
    await graph_error(await members(entra, "?$top=1000", suffix="transitiveMembers/microsoft.graph.user"), 400)


@pytest.mark.parametrize("suffix, kinds", [
    ("members/microsoft.graph.group", ["#microsoft.graph.group"]),
    ("members/microsoft.graph.device", []),
    ("transitiveMembers/microsoft.graph.group", ["#microsoft.graph.group"]),
])
async def test_a_cast_to_another_member_type_lists_members_of_that_type(entra, suffix, kinds):
    """group-list-members and group-list-transitivemembers, "Optional query parameters": OData cast
    is enabled (for example `/groups/{id}/members/microsoft.graph.group`); a cast to a type that
    can be a member lists those members, here the nested group and no devices."""
    response = await members(entra, suffix=suffix)
    assert response.status == 200
    assert [m["@odata.type"] for m in (await response.json())["value"]] == kinds


@pytest.mark.parametrize("suffix", ["members/microsoft.graph.application", "transitiveMembers/microsoft.graph.team"])
async def test_a_cast_to_a_type_that_cannot_be_a_member_is_400_unsupported_query(entra, suffix):
    """group-list-transitivemembers (https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers),
    introduction: "An attempt to filter by an OData cast that represents an unsupported member type
    returns a 400 Bad Request error with the Request_UnsupportedQuery code." The emulator answers a
    cast of the direct members the same way (group-list-members shows casts of members too)."""
    await graph_error(await members(entra, suffix=suffix), 400, "Request_UnsupportedQuery")
