"""The organisation file: every kind of problem, with the right line and field."""
from __future__ import annotations

import pytest
from conftest import SMALL

from handleplaner.directory import DirectoryError, DirectoryProblem, load_directory


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``fragment``."""
    found = [i for i, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(found) >= occurrence, fragment
    return found[occurrence - 1]


def problems(text: str) -> list[DirectoryProblem]:
    with pytest.raises(DirectoryError) as caught:
        load_directory(text)
    return caught.value.problems


def only(text: str) -> DirectoryProblem:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def edit(old: str, new: str, text: str = SMALL) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_small_file_loads():
    data = load_directory(SMALL)
    assert [a.code for a in data.authorities] == ["BUF", "SOF", "SSP", "KRIM"]
    assert data.authorities[3].fixed_party is False
    assert [g.code for g in data.groups] == ["sekretariat", "ledergruppe-1",
                                             "lokaludvalg-bispebjerg"]
    sek = data.group("sekretariat")
    assert sek.chair == "s1"
    assert [(m.person, m.role) for m in sek.members] == [("s1", "formand"), ("s2", "medlem")]
    s1, s2, m1 = data.person("s1"), data.person("s2"), data.person("m1")
    assert s1.channels == ("teams", "email")  # the default with a Teams id
    assert data.person("b2").channels == ("email",)  # the default without one
    assert s2.channels == ("email",)
    assert m1.channels == ("email", "sms") and m1.phone == "+45 00 00 00 01"
    assert m1.title == "Lærer" and s1.title == ""


def test_path_or_text(tmp_path):
    path = tmp_path / "org.yaml"
    path.write_text(SMALL, encoding="utf-8")
    assert len(load_directory(path).people) == 6
    assert len(load_directory(str(path)).people) == 6
    assert len(load_directory(SMALL.encode()).people) == 6
    missing = only_problem_of(lambda: load_directory(tmp_path / "nope.yaml"))
    assert missing.field == "fil" and "findes ikke" in missing.message


def only_problem_of(call) -> DirectoryProblem:
    with pytest.raises(DirectoryError) as caught:
        call()
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


def test_bad_email_reports_line_and_field():
    text = edit("email: fiktiv.konsulent@ssp.kk.example", "email: ikke-en-adresse")
    problem = only(text)
    assert problem.line == line_of(text, "ikke-en-adresse")
    assert problem.field == "people[1].email"
    assert problem.message == '"ikke-en-adresse" er ikke en gyldig e-mailadresse'
    assert str(problem) == (f'linje {problem.line}, people[1].email: '
                            '"ikke-en-adresse" er ikke en gyldig e-mailadresse')


def test_missing_required_field_points_at_the_entry():
    text = edit("    role: leder\n", "")
    problem = only(text)
    assert problem.field == "people[3].role"
    assert problem.line == line_of(text, "- id: b2")
    assert problem.message == "skal udfyldes"


def test_empty_required_field():
    text = edit("name: Fiktiv Fritidsleder", 'name: ""')
    problem = only(text)
    assert (problem.line, problem.field) == (line_of(text, 'name: ""'), "people[3].name")


def test_unknown_key():
    text = edit("    deputy: b1\n", "    deputy: b1\n    afdeling: x\n")
    problem = only(text)
    assert problem.field == "people[3].afdeling"
    assert problem.line == line_of(text, "afdeling: x")
    assert "er ikke et kendt felt" in problem.message


def test_unknown_top_level_key_and_missing_section():
    text = SMALL.replace("areas:\n  - {code: indre", "omraader:\n  - {code: indre")
    found = problems(text)
    fields = {p.field: p for p in found}
    assert "omraader" in fields and fields["omraader"].line == line_of(text, "omraader:")
    assert "areas" in fields  # missing, and the areas referred to are now unknown
    assert any(p.message == 'ukendt område "indre-noerrebro"' for p in found)


def test_duplicate_person_id():
    text = edit("  - id: b2\n", "  - id: b1\n")
    found = problems(text)
    duplicate = next(p for p in found if p.field == "people[3].id")
    assert duplicate.line == line_of(text, "- id: b1", 2)
    assert duplicate.message == (f'person-id\'et "b1" findes allerede i people[2] '
                                 f'(linje {line_of(text, "- id: b1")})')


def test_duplicate_email_is_case_insensitive():
    text = edit("email: fiktiv.fritidsleder@buf.kk.example",
                "email: Fiktiv.Skoleleder@BUF.kk.example")
    problem = only(text)
    assert problem.field == "people[3].email"
    assert problem.line == line_of(text, "Fiktiv.Skoleleder@BUF")
    assert "findes allerede i people[2]" in problem.message


def test_duplicate_teams_id_and_bad_teams_id():
    text = edit("teams_user_id: 00000000-0000-4000-8000-000000000003",
                "teams_user_id: 00000000-0000-4000-8000-000000000001")
    problem = only(text)
    assert problem.field == "people[2].teams_user_id"
    text = edit("teams_user_id: 00000000-0000-4000-8000-000000000003", "teams_user_id: abc")
    problem = only(text)  # no second complaint that teams needs an id
    assert problem.field == "people[2].teams_user_id" and "GUID" in problem.message
    text = edit("    teams_user_id: 00000000-0000-4000-8000-000000000003\n", "")
    problem = only(text)
    assert (problem.field, problem.message) == ("people[2].channels",
                                                "kanalen teams kræver et teams_user_id")


def test_duplicate_codes():
    text = edit("  - {code: SSP, name: SSP Sekretariatet, fixed_party: true}\n",
                "  - {code: SSP, name: SSP Sekretariatet, fixed_party: true}\n"
                "  - {code: SSP, name: Igen}\n")
    problem = only(text)
    assert (problem.field, problem.line) == ("authorities[3].code", line_of(text, "Igen"))
    text = edit("  - code: lokaludvalg-bispebjerg\n", "  - code: ledergruppe-1\n")
    problem = only(text)
    assert problem.field == "groups[2].code"
    assert problem.line == line_of(text, "- code: ledergruppe-1", 2)


def test_duplicate_yaml_key():
    text = edit("    email: fiktiv.medarbejder@sof.kk.example\n",
                "    email: fiktiv.medarbejder@sof.kk.example\n    email: igen@sof.kk.example\n")
    problem = only(text)
    assert problem.field == "people[5].email"
    assert problem.line == line_of(text, "igen@sof")
    assert 'nøglen "email" står flere gange' in problem.message


def test_unknown_references():
    text = edit("authority: KRIM", "authority: KRIMI")
    text = edit("deputy: s2", "deputy: s9", text)
    text = edit("{person: m1}", "{person: m7}", text)
    text = edit("areas: [bispebjerg]", "areas: [bispebjerg, amager]", text)
    text = edit("chair: s1", "chair: s8", text)
    found = {p.field: p for p in problems(text)}
    assert found["people[4].authority"].message == 'ukendt myndighed "KRIMI"'
    assert found["people[4].authority"].line == line_of(text, "authority: KRIMI")
    assert found["people[0].deputy"].message == 'ukendt person "s9"'
    assert found["people[0].deputy"].line == line_of(text, "deputy: s9")
    assert found["groups[2].members[0].person"].message == 'ukendt person "m7"'
    assert found["groups[2].members[0].person"].line == line_of(text, "{person: m7}")
    assert found["groups[2].areas[1]"].message == 'ukendt område "amager"'
    assert found["groups[0].chair"].line == line_of(text, "chair: s8")


def test_deputy_is_self():
    text = edit("deputy: b1", "deputy: b2")
    problem = only(text)
    assert problem.field == "people[3].deputy"
    assert problem.line == line_of(text, "deputy: b2", 2)
    assert problem.message == "en person kan ikke være sin egen suppleant"


def test_bad_channels():
    text = edit("channels: [teams, email]", "channels: [teams, fax, teams]")
    found = problems(text)
    assert [(p.field, p.line) for p in found] == [
        ("people[2].channels[1]", line_of(text, "fax")),
        ("people[2].channels[2]", line_of(text, "fax"))]
    assert found[0].message == '"fax" er ikke en gyldig kanal (tilladt: teams, email, sms)'
    assert found[1].message == 'kanalen "teams" står flere gange'
    text = edit('    phone: "+45 00 00 00 01"\n', "")
    assert only(text).message == "kanalen sms kræver et telefonnummer (phone)"
    text = edit("channels: [email]", "channels: []")
    assert only(text).message == "skal have mindst én kanal"


def test_bad_role_kind_and_member_role():
    text = edit("role: medarbejder", "role: direktor")
    text = edit("kind: lokaludvalg", "kind: udvalg", text)
    text = edit("{person: b2}", "{person: b2, role: boss}", text)
    found = {p.field: p for p in problems(text)}
    assert found["people[5].role"].message.startswith('ukendt rolle "direktor"')
    assert found["groups[2].kind"].line == line_of(text, "kind: udvalg")
    assert found["groups[1].members[1].role"].line == line_of(text, "role: boss")


def test_fixed_group_without_members():
    text = edit("    members:\n      - {person: m1}\n", "    members: []\n")
    problem = only(text)
    assert problem.field == "groups[2].members"
    assert problem.line == line_of(text, "members: []")
    assert problem.message == "en lokaludvalg skal have mindst ét medlem"


def test_area_group_without_areas_and_chair_not_member():
    text = edit("    areas: [bispebjerg]\n", "")
    text = edit("      - {person: s1, role: formand}\n", "", text)
    found = {p.field: p for p in problems(text)}
    assert found["groups[2].areas"].message == "en lokaludvalg skal dække mindst ét område"
    assert found["groups[0].chair"].message == 'formanden "s1" skal også stå under members'


def test_wrong_types():
    text = edit("fixed_party: true}\n  - {code: SOF", "fixed_party: ja}\n  - {code: SOF")
    text = edit("channels: [email]", "channels: email", text)
    found = {p.field: p.message for p in problems(text)}
    assert found == {"authorities[0].fixed_party": "skal være true eller false",
                     "people[1].channels": "skal være en liste"}


def test_all_problems_are_collected_in_file_order():
    text = edit("email: fiktiv.konsulent@ssp.kk.example", "email: nej")
    text = edit("authority: KRIM", "authority: NOPE", text)
    text = edit("channels: [teams, email]", "channels: [brevdue]", text)
    found = problems(text)
    assert [p.field for p in found] == ["people[1].email", "people[2].channels[0]",
                                        "people[4].authority"]
    assert [p.line for p in found] == sorted(p.line for p in found)
    with pytest.raises(DirectoryError) as caught:
        load_directory(text)
    assert str(caught.value).splitlines() == [str(p) for p in found]


@pytest.mark.parametrize("broken, fragment", [
    ("    name: Fiktiv Chef\n", "    name: Fiktiv: Chef: igen\n"),
    ("    role: leder\n", "    role: [leder\n"),
    ("    deputy: s1\n", "\tdeputy: s1\n"),
])
def test_syntax_error_reports_line(broken, fragment):
    text = edit(broken, fragment)
    problem = only(text)
    assert problem.field == "yaml"
    assert problem.message.startswith("YAML-syntaksfejl")
    expected = line_of(text, fragment.strip())
    assert expected <= problem.line <= expected + 1


def test_syntax_error_line_exact_for_colon():
    text = edit("    title: Lærer\n", "    title: Lærer: dansk\n")
    problem = only(text)
    assert problem.line == line_of(text, "Lærer: dansk")
    assert "kolon" in problem.message


def test_empty_or_wrong_document():
    assert only("").message == "filen er tom"
    assert "YAML-mapping" in only("- a\n- b\n").message


def test_areas_all_expands_to_every_area():
    text = edit("areas: [indre-noerrebro]", "areas: all")
    assert load_directory(text).group("ledergruppe-1").areas == ("indre-noerrebro", "bispebjerg")
