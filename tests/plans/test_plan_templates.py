"""Plan templates: the shipped files load and render, and every kind of mistake in a file is
reported with file, line and field, all at once."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from handleplaner.incidents.kinds import INCIDENT_TYPES
from handleplaner.plans.measures import AUTHORITIES, MEASURE_TYPES, USUAL_OWNER
from handleplaner.plans.templates import (CONFIDENTIALITY, TEMPLATE_DIRECTORY, PlanTemplate,
                                          PlanTemplateError, PlanTemplateProblem, RenderedPlan,
                                          flow, load_plan_templates, render_plan_template,
                                          templates_for_incident_type)

FACTS = {
    "reference": "BER-2026-0042",
    "type_label": "Konflikt mellem grupper af unge",
    "severity_label": "Akut",
    "areas": ["Indre Nørrebro", "Amager Nordøst"],
    "area_label": "Indre Nørrebro, Amager Nordøst",
    "occurred": "23.11.2026 kl. 21:14",
    "title": "Slåskamp ved Nørrebro Station",
    "exercise": False,
    "period_days": 14,
}

ACUTE = {"konflikt", "skyderi", "brand", "drab", "uro"}
PLANNED = {"sidste-skoledag", "skoleferie", "nytaarsaften", "demonstration"}

# A small valid template; the tests change copies of it. Line numbers matter, keep the layout.
BASE = """\
code: test
name: Testskabelon
plan_kind: handleplan
incident_types: [konflikt]
default_period_days: 14
purpose: "Formål for {{ area_label }}"
background: |
  Baggrund: {{ title }} i {{ area_label }}.
  Anden linje.
measures:
  - key: patruljering
    title: Synlig patruljering
    measure_type: synlig-patruljering
    authority: POL
    start_offset_hours: 0
    duration_hours: 72
    description: Politiet patruljerer.
  - key: gadeplan
    title: Opsøgende arbejde
    measure_type: opsoegende
    start_offset_hours: 0
    duration_hours: 168
communication:
  - audience: SSP-styregruppen
    what: Til orientering og eventuel godkendelse.
    when_offset_hours: 24
    confidentiality: fortrolig
evaluation_offset_days: 12
evaluation: Evaluering efter {{ period_days }} dage.
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def load_problems(directory: Path) -> list[PlanTemplateProblem]:
    with pytest.raises(PlanTemplateError) as caught:
        load_plan_templates(directory)
    return caught.value.problems


def problem(problems: list[PlanTemplateProblem], field: str) -> PlanTemplateProblem:
    found = [p for p in problems if p.field == field]
    assert found, f"no problem for {field}: {problems}"
    return found[0]


# -- the shipped templates ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> dict[str, PlanTemplate]:
    return load_plan_templates()


def test_measure_types_and_usual_owners():
    assert set(USUAL_OWNER) == set(MEASURE_TYPES)
    assert set(USUAL_OWNER.values()) <= set(AUTHORITIES)
    assert MEASURE_TYPES["hjemmebesoeg"] == "Hjemmebesøg"
    assert USUAL_OWNER["synlig-patruljering"] == "POL"
    assert USUAL_OWNER["opsoegende"] == "SOF"
    assert USUAL_OWNER["foraeldresamtaler"] == "BUF"
    assert USUAL_OWNER["ekstra-aktiviteter"] == "KFF"


def test_shipped_templates_load(shipped):
    assert ACUTE | PLANNED <= set(shipped)
    for code, template in shipped.items():
        assert template.code == code
        assert template.source.parent == TEMPLATE_DIRECTORY
        assert 5 <= len(template.measures) <= 9, code
        assert len({m.key for m in template.measures}) == len(template.measures)
        for m in template.measures:
            assert m.measure_type in MEASURE_TYPES and m.authority in AUTHORITIES
            assert m.start_offset_hours + m.duration_hours <= template.default_period_days * 24
        confidentiality = {c.confidentiality for c in template.communication}
        assert {"fortrolig", "offentlig"} <= confidentiality <= set(CONFIDENTIALITY)
        audiences = " ".join(c.audience for c in template.communication)
        assert "SSP-styregruppen" in audiences and "Team Sikker By" in audiences
        assert "skoleplatformen" in audiences and "kommunikationsafdelingen" in audiences
        assert 0 < template.evaluation_offset_days <= template.default_period_days
    for code in ACUTE:
        assert shipped[code].plan_kind == "handleplan"
        assert shipped[code].default_period_days == 14
        assert shipped[code].drafting_lead_days is None
    for code in PLANNED:
        assert shipped[code].plan_kind == "beredskabsplan"
        assert shipped[code].drafting_lead_days and shipped[code].drafting_lead_days > 0
    assert shipped["konflikt"].incident_types == ("konflikt", "uro")
    assert shipped["uro"].incident_types == ("uro", "institution", "andet")


def test_shipped_templates_render(shipped):
    for code, template in shipped.items():
        for exercise in (False, True):
            rendered = render_plan_template(template, {**FACTS, "exercise": exercise})
            assert isinstance(rendered, RenderedPlan)
            assert rendered.template_code == code and rendered.plan_kind == template.plan_kind
            texts = [rendered.purpose, rendered.background, rendered.evaluation]
            texts += [t for m in rendered.measures for t in (m.title, m.description)]
            texts += [t for c in rendered.communication for t in (c.audience, c.what)]
            for text in texts:
                assert text and "{{" not in text and "{%" not in text and "}}" not in text
            assert ("ØVELSE" in rendered.background) is exercise
            for m in rendered.measures:
                assert "\n" not in m.title
            assert [m.key for m in rendered.measures] == [m.key for m in template.measures]
        assert len(rendered.measures) == len(template.measures)
        assert len(rendered.communication) == len(template.communication)


def test_rendered_texts_keep_danish_letters(shipped):
    rendered = render_plan_template(shipped["konflikt"], FACTS)
    assert "Indre Nørrebro, Amager Nordøst" in rendered.purpose
    assert "Slåskamp ved Nørrebro Station" in rendered.background
    assert "konflikt mellem grupper af unge" in rendered.background
    assert rendered.measures[0].title == "Synlig patruljering i Indre Nørrebro, Amager Nordøst"
    assert "Forældre i Indre Nørrebro, Amager Nordøst via skoleplatformen" in [
        c.audience for c in rendered.communication]
    assert "Hjemmebesøg" in " ".join(m.title for m in rendered.measures)
    assert "æ" in rendered.purpose and "ø" in rendered.purpose
    # A YAML block's line breaks flow into paragraphs.
    assert "\n" not in rendered.purpose
    # Hjemmebesøg by the police and SOF are two measures, one per authority.
    home = [m.authority for m in rendered.measures if m.measure_type == "hjemmebesoeg"]
    assert sorted(home) == ["POL", "SOF"]


def test_every_incident_type_has_an_acute_template(shipped):
    for incident_type in INCIDENT_TYPES:
        fitting = templates_for_incident_type(shipped, incident_type)
        assert fitting, incident_type
        assert fitting[0].plan_kind == "handleplan"
    assert templates_for_incident_type(shipped, "uro")[0].code == "uro"
    assert [t.code for t in templates_for_incident_type(shipped, "uro")] == ["uro", "konflikt"]
    assert [t.code for t in templates_for_incident_type(shipped.values(), "skyderi")] == [
        "skyderi"]
    assert templates_for_incident_type(shipped, "ukendt") == []


def test_flow():
    assert flow("  en\n  to\n\n\n  tre\n- punkt\n  fortsat\n- andet\n") == \
        "en to\n\ntre\n- punkt fortsat\n- andet"


# -- a valid file, and its variants --------------------------------------------------------------

def test_small_template_loads_with_usual_owner(tmp_path):
    path = write(tmp_path, "test.yaml", BASE)
    templates = load_plan_templates(tmp_path)
    template = templates["test"]
    assert template.source == path
    assert template.measures[1].authority == "SOF"  # not given: the usual owner
    assert template.measures[0].start_offset_hours == 0.0
    rendered = render_plan_template(template, FACTS)
    assert rendered.background == ("Baggrund: Slåskamp ved Nørrebro Station i Indre Nørrebro, "
                                   "Amager Nordøst. Anden linje.")
    assert rendered.evaluation == "Evaluering efter 14 dage."


def test_empty_directory_and_missing_directory(tmp_path):
    assert load_plan_templates(tmp_path) == {}
    problems = load_problems(tmp_path / "findes-ikke")
    assert "findes ikke" in problems[0].message


def test_yaml_syntax_error_has_line(tmp_path):
    write(tmp_path, "fejl.yaml", BASE.replace("    authority: POL\n", "    authority: [POL\n"))
    problems = load_problems(tmp_path)
    assert len(problems) == 1
    (p,) = problems
    assert p.file.endswith("fejl.yaml") and p.field == "yaml"
    assert p.message.startswith("YAML-syntaksfejl")
    assert p.line is not None and 14 <= p.line <= 16


def test_unknown_and_missing_keys(tmp_path):
    text = BASE.replace("    description: Politiet patruljerer.\n",
                        "    description: Politiet patruljerer.\n    farve: blå\n")
    text = text.replace("name: Testskabelon\n", "")
    write(tmp_path, "test.yaml", text)
    problems = load_problems(tmp_path)
    unknown = problem(problems, "measures[0].farve")
    assert unknown.line == 17 and '"farve" er ikke et kendt felt' in unknown.message
    missing = problem(problems, "name")
    assert missing.message == "skal udfyldes"


def test_bad_authority_message(tmp_path):
    path = write(tmp_path, "test.yaml", BASE.replace("authority: POL", "authority: XYZ"))
    problems = load_problems(tmp_path)
    assert len(problems) == 1
    assert str(problems[0]).startswith(
        f'{path}, linje 14, measures[0].authority: ukendt myndighed "XYZ"')


def test_bad_types_and_values(tmp_path):
    text = (BASE.replace("measure_type: opsoegende", "measure_type: kaffe")
            .replace("duration_hours: 72", "duration_hours: 0")
            .replace("when_offset_hours: 24", "when_offset_hours: -1")
            .replace("confidentiality: fortrolig", "confidentiality: hemmelig")
            .replace("plan_kind: handleplan", "plan_kind: handleplan\ndrafting_lead_days: 5")
            .replace("incident_types: [konflikt]", "incident_types: [konflikt, jordskælv]"))
    write(tmp_path, "test.yaml", text)
    problems = load_problems(tmp_path)
    fields = {p.field: p for p in problems}
    assert "ukendt indsatstype" in fields["measures[1].measure_type"].message
    assert "større end 0" in fields["measures[0].duration_hours"].message
    assert "negativ" in fields["communication[0].when_offset_hours"].message
    assert "ukendt fortrolighed" in fields["communication[0].confidentiality"].message
    assert "kun for beredskabsplaner" in fields["drafting_lead_days"].message
    assert "ukendt hændelsestype" in fields["incident_types[1]"].message
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_measure_outside_period(tmp_path):
    text = BASE.replace("duration_hours: 168", "duration_hours: 400")
    text = text.replace("evaluation_offset_days: 12", "evaluation_offset_days: 20")
    path = write(tmp_path, "test.yaml", text)
    problems = load_problems(tmp_path)
    outside = problem(problems, "measures[1].duration_hours")
    assert outside.line == 22
    assert "efter planperioden på 14 dage (336 timer)" in outside.message
    assert str(outside).startswith(f"{path}, linje 22, measures[1].duration_hours: ")
    evaluation = problem(problems, "evaluation_offset_days")
    assert evaluation.line == 28 and "efter planperioden" in evaluation.message


def test_planned_template_needs_drafting_lead(tmp_path):
    text = BASE.replace("plan_kind: handleplan", "plan_kind: beredskabsplan")
    text = text.replace("incident_types: [konflikt]", "incident_types: []")
    write(tmp_path, "test.yaml", text)
    problems = load_problems(tmp_path)
    assert [p.field for p in problems] == ["drafting_lead_days"]
    write(tmp_path, "test.yaml", text.replace("default_period_days: 14",
                                              "default_period_days: 14\ndrafting_lead_days: 7"))
    template = load_plan_templates(tmp_path)["test"]
    assert template.drafting_lead_days == 7 and template.incident_types == ()


def test_jinja_syntax_error_in_one_line_text(tmp_path):
    write(tmp_path, "test.yaml",
          BASE.replace("title: Synlig patruljering", "title: Synlig patruljering {{ area_label"))
    (p,) = load_problems(tmp_path)
    assert p.field == "measures[0].title" and p.line == 12
    assert p.message.startswith("fejl i skabelonteksten: ")
    assert "expected token" in p.message or "unexpected" in p.message


def test_jinja_syntax_error_in_block_text_names_the_line(tmp_path):
    write(tmp_path, "test.yaml", BASE.replace("  Anden linje.", "  Anden {% if title %} linje."))
    (p,) = load_problems(tmp_path)
    assert p.field == "background"
    assert p.line == 9  # the line of the text inside the block, not only the key's line
    assert "endif" in p.message


def test_unknown_variable_found_when_loading(tmp_path):
    write(tmp_path, "test.yaml", BASE.replace("{{ period_days }}", "{{ periode }}"))
    (p,) = load_problems(tmp_path)
    assert p.field == "evaluation" and p.line == 29
    assert "ukendt variabel {{ periode }}" in p.message


def test_many_problems_in_many_files_are_all_reported(tmp_path):
    write(tmp_path, "a.yaml", BASE.replace("authority: POL", "authority: XYZ")
          .replace("duration_hours: 168", "duration_hours: 400"))
    write(tmp_path, "b.yaml", BASE.replace("code: test", "code: test-b")
          .replace('purpose: "Formål for {{ area_label }}"', 'purpose: "Formål {% for %}"'))
    write(tmp_path, "c.yaml", "code: [\n")
    write(tmp_path, "d.yaml", BASE)  # the same code as a.yaml, which has problems of its own
    write(tmp_path, "e.yaml", BASE)  # the same code as d.yaml
    with pytest.raises(PlanTemplateError) as caught:
        load_plan_templates(tmp_path)
    problems = caught.value.problems
    where = [(Path(p.file).name, p.line, p.field) for p in problems]
    assert where == [("a.yaml", 14, "measures[0].authority"),
                     ("a.yaml", 22, "measures[1].duration_hours"),
                     ("b.yaml", 6, "purpose"),
                     ("c.yaml", 2, "yaml"),
                     ("e.yaml", 1, "code")]
    assert "d.yaml, linje 1" in problems[-1].message
    lines = str(caught.value).splitlines()
    assert len(lines) == 5
    assert lines[0] == f'{tmp_path / "a.yaml"}, linje 14, measures[0].authority: ukendt ' \
                       f'myndighed "XYZ" (tilladt: {", ".join(AUTHORITIES)})'


def test_duplicate_measure_keys_and_yaml_keys(tmp_path):
    text = BASE.replace("key: gadeplan", "key: patruljering")
    text = text.replace("    duration_hours: 72\n", "    duration_hours: 72\n    duration_hours: 73\n")
    write(tmp_path, "test.yaml", text)
    problems = load_problems(tmp_path)
    assert problem(problems, "measures[1].key").message.startswith(
        'nøglen "patruljering" bruges allerede i measures[0] (linje 11)')
    assert "står flere gange" in problem(problems, "measures[0].duration_hours").message


def test_not_a_mapping_and_empty_file(tmp_path):
    write(tmp_path, "liste.yaml", "- en\n- to\n")
    write(tmp_path, "tom.yaml", "# kun en kommentar\n")
    problems = load_problems(tmp_path)
    assert [Path(p.file).name for p in problems] == ["liste.yaml", "tom.yaml"]
    assert "YAML-mapping" in problems[0].message and problems[1].message == "filen er tom"


# -- rendering ---------------------------------------------------------------------------------

def test_undefined_value_at_render_time(tmp_path):
    path = write(tmp_path, "test.yaml", BASE)
    template = load_plan_templates(tmp_path)["test"]
    facts = {k: v for k, v in FACTS.items() if k != "area_label"}
    with pytest.raises(PlanTemplateError) as caught:
        render_plan_template(template, facts)
    problems = caught.value.problems
    assert [(p.line, p.field) for p in problems] == [(6, "purpose"), (8, "background")]
    assert all(p.file == str(path) for p in problems)
    assert "'area_label' is undefined" in problems[0].message
    assert problems[0].message.startswith("ukendt værdi i skabelonteksten")


def test_runtime_error_names_the_line_inside_a_block(tmp_path):
    write(tmp_path, "test.yaml", BASE.replace("  Anden linje.", "  Anden {{ areas.foerste }}."))
    template = load_plan_templates(tmp_path)["test"]
    with pytest.raises(PlanTemplateError) as caught:
        render_plan_template(template, FACTS)
    (p,) = caught.value.problems
    assert (p.line, p.field) == (9, "background")
    assert "foerste" in p.message


def test_broken_template_returns_nothing_partial(shipped):
    template = shipped["konflikt"]
    broken_measure = dataclasses.replace(template.measures[-1],
                                         description="Slut {{ 1 // 0 }}")
    broken = dataclasses.replace(
        template, measures=template.measures[:-1] + (broken_measure,),
        evaluation="Evaluering {{ ukendt_felt }}")
    result = None
    with pytest.raises(PlanTemplateError) as caught:
        result = render_plan_template(broken, FACTS)
    assert result is None
    problems = caught.value.problems
    fields = [p.field for p in problems]
    assert fields == [f"measures[{len(template.measures) - 1}].description", "evaluation"]
    assert all(p.file == "templates/plans/konflikt.yaml" for p in problems)
    assert "kan ikke udfyldes" in problems[0].message
    assert all(p.line is not None for p in problems)
    # The original still renders: nothing was cached from the broken attempt.
    assert render_plan_template(template, FACTS).evaluation


def test_rendered_one_line_text_that_is_too_long(tmp_path):
    write(tmp_path, "test.yaml", BASE.replace("title: Synlig patruljering",
                                              'title: "Patruljering {{ title * 20 }}"'))
    template = load_plan_templates(tmp_path)["test"]
    with pytest.raises(PlanTemplateError) as caught:
        render_plan_template(template, FACTS)
    (p,) = caught.value.problems
    assert p.field == "measures[0].title" and p.line == 12 and "for lang" in p.message


def test_unquoted_jinja_gets_a_hint(tmp_path):
    write(tmp_path, "a.yaml", BASE.replace('purpose: "Formål for {{ area_label }}"',
                                           "purpose: {{ area_label }}"))
    write(tmp_path, "b.yaml", BASE.replace("code: test", "code: b").replace(
        "title: Synlig patruljering", "title: {% if exercise %}Øvelse{% endif %}"))
    problems = load_problems(tmp_path)
    assert [(Path(p.file).name, p.line, p.field) for p in problems] == [
        ("a.yaml", 6, "purpose"), ("b.yaml", 12, "yaml")]
    assert all("skal stå i anførselstegn eller som blok (|)" in p.message for p in problems)
