"""Questions asked of the directory, on the small organisation and on the demo one."""
from __future__ import annotations

from conftest import SMALL
from sqlmodel import Session, select

from handleplaner.directory import (all_areas, area_codes, authorities, deputy_of, group_members,
                                    groups_of, import_directory, ledergruppe_leaders_for_areas,
                                    list_people, load_directory, may_activate, memberships,
                                    person_by_email, person_by_teams_id, secretariat_members)
from handleplaner.directory.models import Group, Membership, Person
from handleplaner.storage import transaction


def small(engine):
    with transaction(engine) as session:
        import_directory(session, load_directory(SMALL))
    return Session(engine)


def test_lookups(engine):
    with small(engine) as session:
        assert person_by_email(session, " Fiktiv.Chef@SSP.kk.example ").id == "s1"
        assert person_by_teams_id(session, "00000000-0000-4000-8000-000000000003").id == "b1"
        assert person_by_email(session, "nobody@x.example") is None
        assert [g.code for g in groups_of(session, "s2")] == ["ledergruppe-1", "sekretariat"]
        assert [p.id for p in group_members(session, "ledergruppe-1")] == ["b2", "s2", "k1", "b1"]
        assert ("s2", "sekretær") in [(p.id, r) for p, r in memberships(session, "ledergruppe-1")]
        assert [p.id for p in secretariat_members(session)] == ["s1", "s2"]
        assert area_codes(session) == {"indre-noerrebro", "bispebjerg"}
        assert [a.name for a in all_areas(session)] == ["Bispebjerg", "Indre Nørrebro"]
        assert [a.code for a in authorities(session)] == ["BUF", "KRIM", "SOF", "SSP"]
        assert [p.id for p in list_people(session, authority="BUF")] == ["b2", "b1"]
        assert [p.id for p in list_people(session, group="sekretariat")] == ["s1", "s2"]
        assert deputy_of(session, "b1").id == "b2"


def test_inactive_people_are_not_found_by_address(engine):
    with small(engine) as session:
        session.get(Person, "b1").active = False
        session.commit()
        assert person_by_teams_id(session, "00000000-0000-4000-8000-000000000003") is None
        assert person_by_teams_id(session, "00000000-0000-4000-8000-000000000003",
                                  include_inactive=True).id == "b1"
        assert may_activate(session, "b1") is False
        assert deputy_of(session, "b2") is None


def test_may_activate(engine):
    with small(engine) as session:
        assert may_activate(session, "s1")  # sekretariat
        assert may_activate(session, "b2")  # ledergruppe, plain member
        assert not may_activate(session, "m1")  # lokaludvalg only
        assert not may_activate(session, "nobody")
        session.get(Group, "ledergruppe-1").active = False
        session.commit()
        assert not may_activate(session, "b2")


def test_leaders_for_areas(engine):
    with small(engine) as session:
        # b1 (ssp-leder, BUF) and s2 (the secretariat's consultant); not b2 (plain member) and
        # not k1 (Kriminalforsorgen is not a fixed party).
        leaders = ledergruppe_leaders_for_areas(session, ["indre-noerrebro"])
        assert [p.id for p in leaders] == ["b1", "s2"]
        assert ledergruppe_leaders_for_areas(session, ["bispebjerg"]) == []
        assert ledergruppe_leaders_for_areas(session, []) == []


def test_demo_may_activate(demo_engine, demo):
    with Session(demo_engine) as session:
        def member_of(kind):
            group = next(g for g in demo.groups if g.kind == kind)
            return next(m.person for m in group.members if m.role == "medlem")

        assert may_activate(session, member_of("sekretariat"))
        assert may_activate(session, member_of("styregruppe"))
        assert may_activate(session, member_of("ledergruppe"))
        lokal_only = [p.id for p in demo.people
                      if {g.kind for g in demo.groups
                          if p.id in {m.person for m in g.members}} == {"lokaludvalg"}]
        assert len(lokal_only) > 100
        assert not any(may_activate(session, pid) for pid in lokal_only[:50])
        chefgruppe_only = next(m.person for m in demo.group("chefgruppe").members
                               if m.role == "medlem")
        assert not may_activate(session, chefgruppe_only)


def test_demo_leaders_for_indre_noerrebro(demo_engine, demo):
    with Session(demo_engine) as session:
        leaders = ledergruppe_leaders_for_areas(session, ["indre-noerrebro"])
        by_authority = {p.authority_code: p for p in leaders}
        assert len(leaders) == 6
        assert sorted(by_authority) == ["BIF", "BUF", "KFF", "POL", "SOF", "SSP"]
        group = demo.group("ledergruppe-1")
        roles = {m.person: m.role for m in group.members}
        assert all(roles[p.id] in ("ssp-leder", "sekretær") for p in leaders)
        assert by_authority["SSP"].role == "sekretariat"
        assert all(p.role == "ssp-leder" for a, p in by_authority.items() if a != "SSP")
        # Two areas of the same ledergruppe: the same six.
        assert ledergruppe_leaders_for_areas(session, ["indre-noerrebro", "oesterbro"]) == leaders


def test_demo_leaders_for_whole_city_include_ssp_plus(demo_engine, demo):
    with Session(demo_engine) as session:
        everyone = ledergruppe_leaders_for_areas(session, area_codes(session))
        plus = {m.person for m in demo.group("ledergruppe-ssp-plus").members}
        assert plus & {p.id for p in everyone}
        five = ledergruppe_leaders_for_areas(session, area_codes(session),
                                             include_city_wide=False)
        assert len(five) == 5 * 6
        assert not plus & {p.id for p in five} - {m.person for g in demo.groups
                                                  if g.code.startswith("ledergruppe-")
                                                  and g.code != "ledergruppe-ssp-plus"
                                                  for m in g.members}
        local_with_plus = ledergruppe_leaders_for_areas(session, ["indre-noerrebro"],
                                                        include_city_wide=True)
        assert len(local_with_plus) > 6
        assert all(p.authority_code != "KRIM" for p in everyone)


def test_secretariat_members_in_demo(demo_engine):
    with Session(demo_engine) as session:
        members = secretariat_members(session)
        assert 7 <= len(members) <= 10
        assert {p.authority_code for p in members} == {"SSP", "POL"}
        rows = session.exec(select(Membership).where(Membership.group_code == "sekretariat"))
        assert len(rows.all()) == len(members)
