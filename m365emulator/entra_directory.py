"""Entra ID's users and groups, as `GET /v1.0/groups/{id}/members` (group_routes.py) reads them.

Load it with `EmulatorConfig.directory = {"users": [...], "groups": [...]}`: users in Graph's
shape (`id`, `displayName`, `mail`, `userPrincipalName`, `jobTitle`, `department`, `mobilePhone`,
`accountEnabled`, `userType`, ...), groups as `{"id", "displayName", "members": [ids]}` where a
member id names a user or another group (nested). Tests change it while the emulator runs with
`add_member`, `remove_member`, `add_user` and `update_user` (or `/_emulator/directory/...`).
"""

from __future__ import annotations

import copy
import uuid

# Every user property the emulator knows; `$select` may name any of them.
USER_PROPERTIES = (
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
    "jobTitle",
    "department",
    "officeLocation",
    "mobilePhone",
    "businessPhones",
    "preferredLanguage",
    "accountEnabled",
    "userType",
)
# What Graph returns for a user without `$select` (accountEnabled, department and userType are not
# among them: ask for them with `$select`).
DEFAULT_USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
# The basic profile User.ReadBasic.All may read.
BASIC_USER_PROPERTIES = frozenset({"id", "displayName", "givenName", "surname", "mail", "userPrincipalName"})
GROUP_PROPERTIES = ("id", "displayName", "description", "mail", "mailNickname", "securityEnabled", "mailEnabled")

USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"


class DirectoryProblem(ValueError):
    """A change the directory refuses (unknown user or group)."""


def _guid(value: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise DirectoryProblem(f"{value!r} is not a GUID") from None


class EntraDirectory:
    """Users and groups by object id (lower-case GUIDs); members kept in the order they were added."""

    def __init__(self, data: dict | None = None) -> None:
        self.users: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        if data:
            self.load(data)

    def load(self, data: dict) -> None:
        """Replace everything with `{"users": [...], "groups": [...]}`."""
        self.users.clear()
        self.groups.clear()
        for user in data.get("users") or []:
            self.add_user(user)
        for group in data.get("groups") or []:
            group_id = _guid(group["id"])
            self.groups[group_id] = {
                **{k: v for k, v in group.items() if k != "members"},
                "id": group_id,
                "members": [],
            }
        for group in data.get("groups") or []:
            for member_id in group.get("members") or []:
                self.add_member(group["id"], member_id)

    # Users -------------------------------------------------------------------------------
    def add_user(self, user: dict) -> dict:
        user_id = _guid(user.get("id") or uuid.uuid4())
        stored = {name: None for name in USER_PROPERTIES}
        stored.update({"businessPhones": [], "accountEnabled": True, "userType": "Member"})
        stored.update(copy.deepcopy(user))
        stored["id"] = user_id
        self.users[user_id] = stored
        return stored

    def update_user(self, user_id: str, **changes) -> dict:
        user = self.users.get(_guid(user_id))
        if user is None:
            raise DirectoryProblem(f"unknown user {user_id}")
        unknown = set(changes) - set(USER_PROPERTIES) - {"id"}
        if unknown:
            raise DirectoryProblem(f"unknown user properties {sorted(unknown)}")
        changes.pop("id", None)
        user.update(changes)
        return user

    def user_by_mail(self, address: str) -> dict | None:
        address = address.lower()
        return next(
            (u for u in self.users.values() if str(u.get("mail") or u.get("userPrincipalName") or "").lower() == address),
            None,
        )

    # Membership --------------------------------------------------------------------------
    def _group(self, group_id: str) -> dict:
        group = self.groups.get(_guid(group_id))
        if group is None:
            raise DirectoryProblem(f"unknown group {group_id}")
        return group

    def add_member(self, group_id: str, member_id: str) -> None:
        group = self._group(group_id)
        member_id = _guid(member_id)
        if member_id not in self.users and member_id not in self.groups:
            raise DirectoryProblem(f"unknown member {member_id}")
        if member_id not in group["members"]:
            group["members"].append(member_id)

    def remove_member(self, group_id: str, member_id: str) -> None:
        group = self._group(group_id)
        member_id = _guid(member_id)
        if member_id in group["members"]:
            group["members"].remove(member_id)

    def has_group(self, group_id: str) -> bool:
        try:
            return _guid(group_id) in self.groups
        except DirectoryProblem:
            return False

    def members(self, group_id: str, *, transitive: bool = False) -> list[str]:
        """The member ids in order; transitive: members of nested groups too (each once)."""
        group = self._group(group_id)
        if not transitive:
            return list(group["members"])
        found: list[str] = []
        seen: set[str] = {group["id"]}
        pending = list(group["members"])
        while pending:
            member_id = pending.pop(0)
            if member_id in seen:
                continue
            seen.add(member_id)
            found.append(member_id)
            if member_id in self.groups:
                pending.extend(self.groups[member_id]["members"])
        return found

    def summary(self) -> list[dict]:
        return [
            {"id": g["id"], "displayName": g.get("displayName"), "members": len(g["members"])}
            for g in self.groups.values()
        ]

    # Graph's view ------------------------------------------------------------------------
    def graph_object(self, object_id: str, select: list[str] | None, *, user_access: str) -> dict:
        """A member as Graph returns it; `user_access` is "full", "basic" or "none" (limited
        information: only @odata.type and id, the rest null)."""
        if object_id in self.groups:
            group = self.groups[object_id]
            names = [n for n in (select or GROUP_PROPERTIES) if n in GROUP_PROPERTIES] or ["id"]
            body = {"@odata.type": GROUP_TYPE, "id": object_id}
            body.update({n: group.get(n) for n in names if n != "id"})
            return body
        user = self.users[object_id]
        names = select or list(DEFAULT_USER_PROPERTIES)
        body = {"@odata.type": USER_TYPE, "id": object_id}
        for name in names:
            if name == "id":
                continue
            readable = user_access == "full" or (user_access == "basic" and name in BASIC_USER_PROPERTIES)
            body[name] = copy.deepcopy(user.get(name)) if readable else None
        return body
