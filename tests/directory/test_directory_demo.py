"""The generated demo organisation: the real shape, fictional people, and up to date."""
from __future__ import annotations

import importlib.util
import re
import uuid
from collections import Counter
from pathlib import Path

import pytest

from handleplaner.directory import DEMO_ORGANISATION
from handleplaner.directory.models import CHANNELS

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"
FIXED = ["BUF", "SOF", "KFF", "BIF", "POL", "SSP"]


def seed_texts() -> str:
    files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not files:
        pytest.skip(f"the source documents are not at {SEEDS}")
    return "\n".join(f.read_text(encoding="utf-8", errors="replace") for f in files)


def test_size_and_groups(demo):
    assert 380 <= len(demo.people) <= 420
    codes = {g.code for g in demo.groups}
    expected = {"styregruppe", "chefgruppe", "sekretariat", "ledergruppe-ssp-plus",
                "koordinationsgruppe-city"}
    expected |= {f"ledergruppe-{n}" for n in range(1, 6)}
    expected |= {f"koordinationsgruppe-{n}" for n in range(1, 8)}
    expected |= {f"lokaludvalg-{a.code}" for a in demo.areas}
    assert expected <= codes
    kinds = Counter(g.kind for g in demo.groups)
    assert kinds["ledergruppe"] == 6 and kinds["lokaludvalg"] == 15
    assert kinds["koordinationsgruppe"] == 8 and kinds["ekstern"] >= 2
    assert all(g.members for g in demo.groups)


def test_areas(demo):
    codes = [a.code for a in demo.areas]
    assert len(codes) == 15
    assert {"indre-noerrebro", "ydre-noerrebro", "bispebjerg", "vesterbro", "sydhavnen",
            "tingbjerg-husum", "vanloese", "amager-nordoest", "indre-by-og-christianshavn",
            "islands-brygge-og-sundbyvester"} <= set(codes)
    assert {a.code: a.name for a in demo.areas}["indre-noerrebro"] == "Indre Nørrebro"


def test_authorities(demo):
    by_code = {a.code: a for a in demo.authorities}
    assert sorted(c for c, a in by_code.items() if a.fixed_party) == sorted(FIXED)
    assert by_code["KRIM"].fixed_party is False
    assert by_code["BUF"].name == "Børne- og Ungdomsforvaltningen"


def test_ledergrupper(demo):
    covered = Counter()
    for n in range(1, 6):
        group = demo.group(f"ledergruppe-{n}")
        assert len(group.areas) == 3
        covered.update(group.areas)
        leaders = [demo.person(m.person) for m in group.members if m.role == "ssp-leder"]
        assert sorted(p.authority for p in leaders) == sorted(a for a in FIXED if a != "SSP")
        consultant = [demo.person(m.person) for m in group.members if m.role == "sekretær"]
        assert [p.authority for p in consultant] == ["SSP"]
        buf = [demo.person(m.person) for m in group.members
               if demo.person(m.person).authority == "BUF" and m.role != "suppleant"]
        assert len(buf) >= 4  # two school leaders and two leisure leaders (seed 003 §5.4.1)
    assert set(covered) == {a.code for a in demo.areas} and set(covered.values()) == {1}
    assert demo.group("ledergruppe-ssp-plus").areas == tuple(a.code for a in demo.areas)


def test_strategic_groups(demo):
    styre = demo.group("styregruppe")
    chair = demo.person(styre.chair)
    assert chair.role == "sekretariatschef"  # seed 003 §5.2.3
    authorities = {demo.person(m.person).authority for m in styre.members}
    assert authorities == {"BUF", "SOF", "KFF", "BIF", "POL", "KRIM", "SSP"}
    assert 7 <= len(demo.group("sekretariat").members) <= 10


def test_people_are_reachable_and_have_deputies(demo):
    people = {p.id: p for p in demo.people}
    emails = [p.email for p in demo.people]
    assert len(set(emails)) == len(emails)
    channel_sets = Counter(p.channels for p in demo.people)
    assert channel_sets[("teams", "email")] > len(demo.people) / 2
    assert channel_sets[("email",)] > 0 and channel_sets[("email", "teams")] > 0
    for person in demo.people:
        assert re.fullmatch(r"[a-z0-9-]+\.[a-z0-9-]+@[a-z]+\.kk\.example", person.email)
        assert set(person.channels) <= set(CHANNELS)
        if person.teams_user_id:
            assert person.teams_user_id == str(uuid.uuid5(uuid.NAMESPACE_URL, person.email))
        deputy = people[person.deputy]
        assert deputy.id != person.id and deputy.authority == person.authority


def name_pattern(name: str) -> re.Pattern:
    """``name`` as the OCR'd seeds may spell it: æøåü misread, a middle name, either order."""
    variants = {"ø": "(?:ø|o|oe|g|@|e|s)", "æ": "(?:æ|ae|a|e|z)", "å": "(?:å|aa|a|é)",
                "ü": "(?:ü|u|ue)"}

    def word(text):
        return "".join(variants.get(c, re.escape(c)) for c in text.lower())

    first, last = word(name.split()[0]), word(name.split()[-1])
    return re.compile(rf"\b{first}\s+(?:\S+\s+){{0,2}}{last}\b|\b{last},?\s+{first}\b",
                      re.IGNORECASE)


def test_no_person_named_in_the_seeds(demo):
    text = seed_texts()
    named = [p.name for p in demo.people if name_pattern(p.name).search(text)]
    assert named == []
    # The people the seeds do name, as a check that the pattern finds them.
    for real in ("Peter Balsgaard", "Carsten Jensen", "Kirsten Blæhr", "Jan Møller-Iversen"):
        assert name_pattern(real).search(text), real


def test_generated_file_is_up_to_date():
    seed_texts()
    spec = importlib.util.spec_from_file_location(
        "generate_demo_organisation", ROOT / "scripts" / "generate_demo_organisation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check", "--output", str(DEMO_ORGANISATION)]) == 0
