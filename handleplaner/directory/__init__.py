"""The organisation directory: who is who in SSP København, loaded from a YAML file.

``DEMO_ORGANISATION`` is a generated, fictional organisation of the real shape (about 400
people); ``scripts/generate_demo_organisation.py`` writes it.
"""
from pathlib import Path

from .file import (AreaData, AuthorityData, DirectoryData, DirectoryError, DirectoryProblem,
                   GroupData, MemberData, PersonData, load_directory)
from .importer import ImportReport, import_directory, import_directory_file
from .models import (ACTIVATING_KINDS, ALERTED_ROLES_IN_GROUP, CHANNELS, GROUP_KINDS,
                     MEMBERSHIP_ROLES, ROLES, Area, Authority, Group, GroupArea, Membership,
                     Person)
from . import sessions  # noqa: F401 - the web_session table, with the directory's models
from .queries import (all_areas, area_codes, authorities, deputy_of, get_group, get_person,
                      group_areas, group_members, groups_of, ledergruppe_leaders_for_areas,
                      list_groups, list_people, may_activate, memberships, person_by_email,
                      person_by_teams_id, secretariat_members)

DEMO_ORGANISATION = Path(__file__).parent / "data" / "demo-organisation.yaml"

__all__ = [
    "DEMO_ORGANISATION",
    "AreaData", "AuthorityData", "DirectoryData", "DirectoryError", "DirectoryProblem",
    "GroupData", "MemberData", "PersonData", "load_directory",
    "ImportReport", "import_directory", "import_directory_file",
    "ACTIVATING_KINDS", "ALERTED_ROLES_IN_GROUP", "CHANNELS", "GROUP_KINDS", "MEMBERSHIP_ROLES",
    "ROLES", "Area", "Authority", "Group", "GroupArea", "Membership", "Person",
    "all_areas", "area_codes", "authorities", "deputy_of", "get_group", "get_person",
    "group_areas", "group_members", "groups_of", "ledergruppe_leaders_for_areas", "list_groups",
    "list_people", "may_activate", "memberships", "person_by_email", "person_by_teams_id",
    "secretariat_members",
]
