"""Graph's `groups/{id}/members` in the emulator: pages linked by @odata.nextLink, $top and
$select, Graph's user shape, GroupMember.Read.All required (403), limited information without
User.Read.All, Entra ID's resource-unit throttling (429 with Retry-After), recorded requests,
transitiveMembers through a nested group, and membership changed while it runs."""

from __future__ import annotations

from urllib.parse import urlsplit

GROUP = "3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0001"
NESTED = "3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0002"


def user(n: int, **changes) -> dict:
    data = {"id": f"bbbbbbbb-0000-4000-8000-{n:012d}", "displayName": f"Fiktiv Person {n}",
            "mail": f"fiktiv.person{n}@buf.kk.example", "userPrincipalName": f"fiktiv.person{n}@buf.kk.example",
            "jobTitle": "Pædagog", "department": "Børne- og Ungdomsforvaltningen",
            "mobilePhone": f"+45 00 00 {n:02d} 00"}
    data.update(changes)
    return data


def directory(count: int = 7) -> dict:
    users = [user(n) for n in range(1, count + 1)]
    return {"users": users,
            "groups": [{"id": GROUP, "displayName": "SSP-lokaludvalg Test",
                        "members": [u["id"] for u in users[:-2]] + [NESTED]},
                       {"id": NESTED, "displayName": "Indlejret", "members": [u["id"] for u in users[-2:]]}]}


async def get(m365, path: str, headers: dict | None = None):
    headers = headers if headers is not None else await m365.graph_headers()
    return await m365.client.get(path, headers=headers)


async def test_members_come_in_pages_linked_by_next_link(make_emulator):
    m365 = await make_emulator(directory=directory(), members_page_size=2)
    headers = await m365.graph_headers()
    response = await get(m365, f"/v1.0/groups/{GROUP}/members?$top=999&$select=id,displayName,mail", headers)
    seen, pages = [], 0
    while True:
        assert response.status == 200, await response.text()
        body = await response.json()
        pages += 1
        assert len(body["value"]) <= 2
        seen += body["value"]
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert "$skiptoken=" in link and "$select=id,displayName,mail" in link
        parts = urlsplit(link)
        response = await get(m365, f"{parts.path}?{parts.query}", headers)
    assert pages == 3
    users = [m for m in seen if m["@odata.type"] == "#microsoft.graph.user"]
    assert [u["displayName"] for u in users] == [f"Fiktiv Person {n}" for n in range(1, 6)]
    assert set(users[0]) == {"@odata.type", "id", "displayName", "mail"}
    assert seen[-1] == {"@odata.type": "#microsoft.graph.group", "id": NESTED, "displayName": "Indlejret",
                        "mail": None}
    records = [r for r in m365.emulator.log.select("graph") if r["path"].endswith("/members")]
    assert len(records) == 3 and all(r["status"] == 200 for r in records)
    assert records[0]["group_id"] == GROUP and records[0]["resource_units"] == 2


async def test_top_without_select_gives_graphs_default_user_properties(make_emulator):
    m365 = await make_emulator(directory=directory())
    response = await get(m365, f"/v1.0/groups/{GROUP}/members?$top=3")
    body = await response.json()
    assert len(body["value"]) == 3 and "$top=3" in body["@odata.nextLink"]
    first = body["value"][0]
    assert first["jobTitle"] == "Pædagog" and first["mobilePhone"] == "+45 00 00 01 00"
    assert "department" not in first and "accountEnabled" not in first  # only with $select
    assert response.headers["x-ms-resource-unit"] == "2"  # 3, one less for $top under 20


async def test_transitive_members_include_the_nested_groups_users(make_emulator):
    m365 = await make_emulator(directory=directory())
    body = await (await get(m365, f"/v1.0/groups/{GROUP}/transitiveMembers?$select=id,accountEnabled,userType")).json()
    ids = [m["id"] for m in body["value"]]
    assert len(ids) == 8 and NESTED in ids and user(7)["id"] in ids
    assert body["value"][0]["accountEnabled"] is True and body["value"][0]["userType"] == "Member"


async def test_group_member_read_all_is_required(make_emulator):
    m365 = await make_emulator(directory=directory(), graph_permissions=["Mail.Send", "User.Read.All"])
    response = await get(m365, f"/v1.0/groups/{GROUP}/members")
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "Authorization_RequestDenied"


async def test_without_user_read_all_members_come_with_limited_information(make_emulator):
    m365 = await make_emulator(directory=directory(), graph_permissions=["GroupMember.Read.All"])
    body = await (await get(m365, f"/v1.0/groups/{GROUP}/members?$select=id,displayName,mail")).json()
    assert body["value"][0] == {"@odata.type": "#microsoft.graph.user", "id": user(1)["id"],
                                "displayName": None, "mail": None}


async def test_bad_requests_are_refused_as_graph_does(make_emulator):
    m365 = await make_emulator(directory=directory())
    headers = await m365.graph_headers()
    unknown = "3f8a7c3e-0a7e-4f62-9a53-0d7f4f0c0099"
    cases = [(f"/v1.0/groups/{unknown}/members", 404, "Request_ResourceNotFound"),
             ("/v1.0/groups/ikke-et-id/members", 400, "Request_BadRequest"),
             (f"/v1.0/groups/{GROUP}/members?$top=1000", 400, "Request_BadRequest"),
             (f"/v1.0/groups/{GROUP}/members?$select=skonummer", 400, "Request_BadRequest"),
             (f"/v1.0/groups/{GROUP}/members?$skiptoken=xyz", 400, "Request_BadRequest")]
    for path, status, code in cases:
        response = await get(m365, path, headers)
        assert response.status == status, path
        assert (await response.json())["error"]["code"] == code
    assert (await m365.client.get(f"/v1.0/groups/{GROUP}/members")).status == 401


async def test_over_entra_ids_resource_units_the_answer_is_429_with_retry_after(make_emulator):
    m365 = await make_emulator(directory=directory())
    headers = await m365.graph_headers()
    quotas = m365.emulator.quotas
    # A small tenant (under 50 users) has 3,500 resource units per 10 seconds per app.
    assert quotas.acquire(quotas.identity_read_uses(m365.config.bot_app_id, m365.config.tenant_id, 3_499, 7)) == 0
    response = await get(m365, f"/v1.0/groups/{GROUP}/members", headers)  # costs 3
    assert response.status == 429
    assert response.headers["Retry-After"] == "10"
    assert response.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert m365.emulator.log.select("graph")[-1]["status"] == 429
    m365.clock.advance(10)
    assert (await get(m365, f"/v1.0/groups/{GROUP}/members", headers)).status == 200


async def test_tests_change_membership_while_it_runs(make_emulator):
    m365 = await make_emulator(directory=directory())
    newcomer = m365.emulator.directory.add_user(user(9, displayName="Fiktiv Nykommer"))
    response = await m365.client.post(f"/_emulator/directory/groups/{GROUP}/members", json={"id": newcomer["id"]})
    assert response.status == 200
    response = await m365.client.delete(f"/_emulator/directory/groups/{GROUP}/members/{user(1)['id']}")
    assert response.status == 200
    response = await m365.client.patch(f"/_emulator/directory/users/{user(2)['id']}", json={"jobTitle": "Leder"})
    assert (await response.json())["jobTitle"] == "Leder"
    body = await (await get(m365, f"/v1.0/groups/{GROUP}/members?$select=displayName,jobTitle")).json()
    names = [m.get("displayName") for m in body["value"]]
    assert "Fiktiv Person 1" not in names and names[-1] == "Fiktiv Nykommer"
    assert body["value"][0]["jobTitle"] == "Leder"
    summary = await (await m365.client.get("/_emulator/directory")).json()
    assert summary["users"] == 8 and summary["groups"][0]["members"] == 6
