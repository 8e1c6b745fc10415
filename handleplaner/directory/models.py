"""The organisation directory: authorities, local areas, SSP groups, people and memberships.

Rows are never deleted: an import marks what left the organisation inactive, because incidents,
alerts and the record refer to people. Memberships and group areas are replaced on import.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

#: A person's role in the organisation (``Person.role``), with what it means.
ROLES: dict[str, str] = {
    "direktør": "direktør i en forvaltning (SSP-styregruppen)",
    "chef": "chef på chefniveau (SSP-chefgruppen, politi- og kriminalforsorgschefer i styregruppen)",
    "sekretariatschef": "chef for SSP Sekretariatet; forperson for styregruppen og chefgruppen",
    "sekretariat": "konsulent i SSP Sekretariatet",
    "politikommissær": "politimedarbejder udlånt til SSP Sekretariatet",
    "ssp-leder": "myndighedens SSP-leder i en ledergruppe; varsles ved aktivering",
    "leder": "anden leder i en ledergruppe (skoleleder, fritidsleder, sektionsleder, ...)",
    "koordinator": "koordinerer enkeltsager på tværs (fx SSP+)",
    "medarbejder": "medarbejder i et lokaludvalg eller en koordinationsgruppe",
    "ekstern": "kontaktperson hos en ekstern part (Team Sikker By, boligsociale helhedsplaner, ...)",
}

#: The kinds of group (``Group.kind``).
GROUP_KINDS: dict[str, str] = {
    "styregruppe": "SSP-styregruppen",
    "chefgruppe": "SSP-chefgruppen",
    "sekretariat": "SSP Sekretariatet",
    "ledergruppe": "SSP-ledergruppe (fem lokale og SSP+-ledergruppen)",
    "lokaludvalg": "SSP-lokaludvalg (ét pr. lokalområde)",
    "koordinationsgruppe": "SSP-koordinationsgruppe (syv lokale og SSP+-koordinationsgruppen)",
    "ekstern": "kontakter hos en ekstern part",
}

#: Kinds that are part of SSP's fixed structure and must have members.
FIXED_GROUP_KINDS = frozenset(k for k in GROUP_KINDS if k != "ekstern")

#: Kinds whose active members may activate beredskab (seed 003 §7.3).
ACTIVATING_KINDS = frozenset({"styregruppe", "sekretariat", "ledergruppe"})

#: Kinds that cover local areas.
AREA_KINDS = frozenset({"ledergruppe", "lokaludvalg", "koordinationsgruppe"})

#: A person's role in one group (``Membership.role_in_group``).
MEMBERSHIP_ROLES: dict[str, str] = {
    "formand": "forperson / mødeleder",
    "ssp-leder": "myndighedens SSP-leder i gruppen (kontakt ved aktivering)",
    "sekretær": "sekretariatets konsulent, der betjener gruppen",
    "medlem": "fast medlem",
    "suppleant": "fast suppleant for et medlem fra samme myndighed",
}

#: Roles in a ledergruppe that are alerted when beredskab is activated for its areas.
ALERTED_ROLES_IN_GROUP = frozenset({"formand", "ssp-leder", "sekretær"})

#: Channels a person can be reached on, in the person's preferred order.
CHANNELS = ("teams", "email", "sms")


class Authority(SQLModel, table=True):
    """A forvaltning or myndighed (BUF, SOF, KFF, BIF, POL, KRIM, SSP) or an external party."""

    __tablename__ = "directory_authority"

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=200)
    fixed_party: bool = False  # a fixed party at a beredskabsmøde
    active: bool = True


class Area(SQLModel, table=True):
    """One of SSP København's local areas (lokalområder)."""

    __tablename__ = "directory_area"

    code: str = Field(primary_key=True, max_length=64)  # slug, e.g. "indre-noerrebro"
    name: str = Field(max_length=200)  # e.g. "Indre Nørrebro"
    bydel: str = Field(default="", max_length=100)
    active: bool = True


class Person(SQLModel, table=True):
    """A professional in the SSP organisation, or a contact at an external party."""

    __tablename__ = "directory_person"

    id: str = Field(primary_key=True, max_length=32)  # e.g. "p0001"
    name: str = Field(max_length=200)
    title: str = Field(default="", max_length=200)
    role: str = Field(max_length=32)  # one of ROLES
    authority_code: str = Field(foreign_key="directory_authority.code", max_length=16, index=True)
    email: str = Field(max_length=254, unique=True, index=True)  # stored in lower case
    teams_user_id: str | None = Field(default=None, max_length=64, unique=True, index=True)
    deputy_id: str | None = Field(default=None, foreign_key="directory_person.id", max_length=32)
    channels: str = Field(default="teams,email", max_length=64)  # ordered, comma-separated
    phone: str | None = Field(default=None, max_length=32)
    active: bool = True

    @property
    def channel_list(self) -> list[str]:
        return [c.strip() for c in (self.channels or "").split(",") if c.strip()]


class Group(SQLModel, table=True):
    """An SSP group (styregruppe, chefgruppe, sekretariat, ledergruppe, ...)."""

    __tablename__ = "directory_group"

    code: str = Field(primary_key=True, max_length=64)  # e.g. "ledergruppe-1"
    kind: str = Field(max_length=32, index=True)  # one of GROUP_KINDS
    name: str = Field(max_length=200)
    chair_id: str | None = Field(default=None, foreign_key="directory_person.id", max_length=32)
    teams_channel_id: str | None = Field(default=None, max_length=128)  # alerts posted there
    active: bool = True


class GroupArea(SQLModel, table=True):
    """A local area that a group covers."""

    __tablename__ = "directory_group_area"

    group_code: str = Field(foreign_key="directory_group.code", primary_key=True, max_length=64)
    area_code: str = Field(foreign_key="directory_area.code", primary_key=True, max_length=64,
                           index=True)


class Membership(SQLModel, table=True):
    """A person's seat in a group."""

    __tablename__ = "directory_membership"

    group_code: str = Field(foreign_key="directory_group.code", primary_key=True, max_length=64)
    person_id: str = Field(foreign_key="directory_person.id", primary_key=True, max_length=32,
                           index=True)
    role_in_group: str = Field(default="medlem", max_length=32)  # one of MEMBERSHIP_ROLES


class DirectorySync(SQLModel, table=True):
    """One applied sync with Entra ID (``beredskab directory sync --apply`` or the nightly job):
    when, by whom, the counts and the whole diff (JSON, see sync.SyncPlan.as_json)."""

    __tablename__ = "directory_sync"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    finished_at: datetime
    run_by: str = Field(max_length=100)  # "natlig synkronisering" or "kommandolinje (<user>)"
    mapping_file: str = Field(default="", max_length=500)
    added: int = 0
    removed: int = 0
    moved: int = 0
    changed: int = 0
    kept: int = 0  # not in Entra any more but owning open work: kept active
    forced: bool = False  # --force-remove: owners of open work removed too
    diff: str = Field(sa_column=Column(Text, nullable=False))
