"""The mapping file for the sync with Entra ID: the demo's is valid and up to date, and every
problem in a bad one is reported with its line and field, in Danish, all at once."""
from __future__ import annotations

import pytest

from handleplaner.directory import DEMO_ORGANISATION, DirectoryError, load_directory
from handleplaner.directory.entra_demo import DEMO_MAPPING, entra_group_id, mapping_text
from handleplaner.directory.mapping import load_mapping

G1 = "11111111-2222-4333-8444-555555555501"
G2 = "11111111-2222-4333-8444-555555555502"

# Line numbers matter to the tests below; keep the layout when changing it.
GOOD = f"""\
authorities:
  - code: BUF
    name: Børne- og Ungdomsforvaltningen
    fixed_party: true
    domains: [buf.kk.example]
  - {{code: SSP, name: SSP Sekretariatet, fixed_party: true, departments: [SSP]}}
areas:
  - {{code: valby, name: Valby, bydel: Valby}}
groups:
  - code: sekretariat
    kind: sekretariat
    name: SSP Sekretariatet
    chair: fiktiv.chef@ssp.kk.example
    entra:
      - {{group: {G1}, roles: [sekretariat, sekretariatschef], authority: SSP}}
  - code: lokaludvalg-valby
    kind: lokaludvalg
    name: SSP-lokaludvalg Valby
    areas: [valby]
    entra:
      - group: {G2}
        roles: [medarbejder]
      - group: {G1}
        role_in_group: sekretær
people:
  - {{email: fiktiv.chef@ssp.kk.example, role: sekretariatschef}}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(DirectoryError) as raised:
        load_mapping(text)
    return [str(p) for p in raised.value.problems]


def test_the_demo_mapping_is_valid_and_matches_its_generator():
    data = load_directory(DEMO_ORGANISATION)
    assert DEMO_MAPPING.read_text(encoding="utf-8") == mapping_text(data)
    mapping = load_mapping(DEMO_MAPPING)
    assert [g.code for g in mapping.groups] == [g.code for g in data.groups]
    ledere = next(g for g in mapping.groups if g.code == "ledergruppe-1")
    assert [s.role_in_group for s in ledere.sources] == ["medlem", "ssp-leder", "sekretær", "suppleant"]
    assert ledere.sources[1].group_id == entra_group_id("ledergruppe-1", "ssp-leder")
    assert next(g for g in mapping.groups if g.code == "styregruppe").chair.endswith("@ssp.kk.example")
    assert mapping.authority_for("Socialforvaltningen", "x@ukendt.example") == "SOF"
    assert mapping.authority_for(None, "x@krim.kk.example") == "KRIM"


def test_a_good_file_reads_back():
    mapping = load_mapping(GOOD)
    assert mapping.entra_group_ids == (G1, G2)
    valby = mapping.groups[1]
    assert valby.areas == ("valby",) and valby.sources[1].role_in_group == "sekretær"
    assert mapping.authority_for("ssp", "a@b.example") == "SSP"  # departments, any case
    assert mapping.authority_for("Børne- og Ungdomsforvaltningen", "") == "BUF"  # the name
    assert mapping.rules_by_email["fiktiv.chef@ssp.kk.example"].role == "sekretariatschef"


def test_every_problem_is_named_with_line_and_field():
    text = (GOOD
            .replace("domains: [buf.kk.example]", "domains: [buf.kk.example, 'ikke et domæne']")
            .replace("kind: lokaludvalg", "kind: udvalg")
            .replace(f"group: {G2}", "group: ikke-et-id")
            .replace("role_in_group: sekretær", "role_in_group: formand")
            .replace("chair: fiktiv.chef@ssp.kk.example", "chair: fiktiv.chef")
            .replace("authority: SSP}", "authority: XYZ}")
            .replace("roles: [medarbejder]", "roles: [medarbejder, kok]")
            .replace("role: sekretariatschef}", "role: sekretariatschef, telefon: 1}"))
    found = problems(text)
    assert found == [
        'linje 5, authorities[0].domains[1]: "ikke et domæne" er ikke et gyldigt domæne (fx buf.kk.example)',
        'linje 13, groups[0].chair: "fiktiv.chef" er ikke en gyldig e-mailadresse',
        'linje 15, groups[0].entra[0].authority: ukendt myndighed "XYZ"',
        'linje 17, groups[1].kind: ukendt gruppetype "udvalg" (tilladt: styregruppe, chefgruppe, '
        'sekretariat, ledergruppe, lokaludvalg, koordinationsgruppe, ekstern)',
        'linje 21, groups[1].entra[0].group: "ikke-et-id" er ikke et gyldigt Entra-gruppe-id (GUID)',
        'linje 22, groups[1].entra[0].roles[1]: ukendt rolle "kok" (tilladt: direktør, chef, '
        'sekretariatschef, sekretariat, politikommissær, ssp-leder, leder, koordinator, '
        'medarbejder, ekstern)',
        "linje 24, groups[1].entra[1].role_in_group: formanden angives med gruppens chair, "
        "ikke med en Entra-gruppe",
        'linje 26, people[0].telefon: "telefon" er ikke et kendt felt (tilladt: email, role, '
        'authority, deputy)',
    ]


def test_structure_errors():
    assert problems("") == ["filen er tom"]
    assert problems("authorities: [\n")[0].startswith("linje 2, yaml: YAML-syntaksfejl")
    again = "  - code: sekretariat\n    kind: sekretariat\n    name: igen\n    entra: []\npeople:\n"
    text = GOOD.replace("    areas: [valby]\n", "").replace("people:\n", again)
    assert problems(text) == [
        "linje 16, groups[1].areas: en lokaludvalg skal dække mindst ét område",
        'linje 24, groups[2].code: gruppen "sekretariat" findes allerede i groups[0] (linje 10)',
        "linje 27, groups[2].entra: skal være en liste med mindst én Entra-gruppe"]
    duplicate = GOOD.replace(f"      - group: {G1}\n        role_in_group: sekretær",
                             f"      - group: {G2}\n        role_in_group: sekretær")
    assert problems(duplicate) == [
        f'linje 23, groups[1].entra[1].group: Entra-gruppen "{G2}" findes allerede i '
        'groups[1].entra[0] (linje 21)']
    missing = GOOD.replace("groups:\n", "grupper:\n")
    assert "groups: skal udfyldes" in problems(missing)[0]
