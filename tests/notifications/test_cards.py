"""Every Adaptive Card the service sends validates against the official 1.5 schema."""
from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest
from jsonschema import Draft6Validator

from notifications.rendering import AlertFacts, TemplateProblem, alert_texts, environment

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_SCHEMA = REPOSITORY.parent / "shared" / "contracts" / "adaptive-card-1.5.json"
# The official schema as handed to the project, kept so a checkout elsewhere still validates.
KEPT_SCHEMA = REPOSITORY / "tests" / "contracts" / "adaptive-card-1.5.json"


def schema() -> dict:
    path = SHARED_SCHEMA if SHARED_SCHEMA.exists() else KEPT_SCHEMA
    return json.loads(path.read_text(encoding="utf-8"))


VALIDATOR = Draft6Validator(schema())


def assert_valid_card(card: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(card), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    assert card["version"] == "1.5"


def facts(**changes) -> AlertFacts:
    values = dict(reference="H-2026-0001", incident_type="skyderi", severity="akut",
                  exercise=False, confidential=False, title='Skud "ved" skolen\nlinje 2',
                  description="Beskrivelse med æøå, <tags> og \"citater\"", areas=("Indre Nørrebro",),
                  whole_city=False, occurred_at=datetime(2026, 11, 23, 20, 0),
                  activated_at=datetime(2026, 11, 23, 20, 30), activated_by="Demo Person",
                  link="http://127.0.0.1:8400/haendelser/1")
    values.update(changes)
    return AlertFacts(**values)


@pytest.mark.parametrize("severity, exercise, confidential, whole_city", list(itertools.product(
    ["orientering", "varsling", "akut"], [False, True], [False, True], [False, True])))
def test_activation_card_is_valid_in_every_variant(severity, exercise, confidential, whole_city):
    texts = alert_texts(facts(severity=severity, exercise=exercise,
                                   confidential=confidential, whole_city=whole_city))
    card = texts["card"]
    assert_valid_card(card)
    body = json.dumps(card, ensure_ascii=False)
    assert ("ØVELSE" in body) == exercise
    assert ("Beskrivelse med æøå" in body) == (not confidential)
    assert ("Hele byen" in body) == whole_city


def test_the_description_is_shown_only_as_passed_and_never_for_a_confidential_incident():
    """AlertFacts.description holds what the sender chose to send ("" when not chosen); the
    channels show it apart from the alert's text, and never a confidential incident's."""
    for description, confidential, shown in (("", False, False), ("Valgt tekst", False, True),
                                             ("Valgt tekst", True, False)):
        texts = alert_texts(facts(text="Varslets egen tekst", description=description,
                                  confidential=confidential))
        for channel in (texts["text"], texts["html"], json.dumps(texts["card"], ensure_ascii=False)):
            assert "Varslets egen tekst" in channel
            assert ("Valgt tekst" in channel) == shown


def test_kept_schema_is_the_shared_contract():
    if not SHARED_SCHEMA.exists():
        pytest.skip("../shared/contracts is not next to this checkout")
    assert json.loads(KEPT_SCHEMA.read_text()) == json.loads(SHARED_SCHEMA.read_text())


def test_schema_catches_a_broken_card():
    card = alert_texts(facts())["card"]
    card["body"][0]["type"] = "NotAnElement"
    card["actions"][0].pop("url")
    assert list(VALIDATOR.iter_errors(card))


def test_email_escapes_html_and_marks_exercise():
    texts = alert_texts(facts(exercise=True))
    assert "&lt;tags&gt;" in texts["html"] and "<tags>" not in texts["html"]
    assert texts["subject"].startswith("ØVELSE – Beredskab aktiveret (Akut)")


def test_a_broken_template_is_refused_with_file_and_line(tmp_path):
    (tmp_path / "teams").mkdir()
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "alert.txt.j2").write_text("ok")
    (tmp_path / "email" / "alert.html.j2").write_text("ok")
    (tmp_path / "teams" / "alert.json.j2").write_text('{\n"type": "AdaptiveCard",\n{% if %}\n}')
    with pytest.raises(TemplateProblem, match=r"alert.json.j2, linje 3"):
        alert_texts(facts(), environment(tmp_path))
    (tmp_path / "teams" / "alert.json.j2").write_text('{"type": "AdaptiveCard",, }')
    with pytest.raises(TemplateProblem, match="giver ikke gyldig JSON"):
        alert_texts(facts(), environment(tmp_path))


async def test_every_card_sent_in_the_whole_path_is_valid(service):
    from tests.service.helpers import DEMO, noerrebro, secretariat_member, shooting

    person = secretariat_member(service.engine)
    for variant in (dict(), dict(exercise=True, confidential=True, severity="orientering")):
        response = await service.client.post(
            "/api/incidents", json=shooting(noerrebro(service.engine), **variant),
            headers={DEMO: person.id})
        assert response.status == 201
    await service.services.worker.run_until_idle(timeout=120)
    cards = [a["content"] for entries in service.emulator.chats.values() for e in entries
             for a in e["activity"].get("attachments") or []]
    assert len(cards) >= 10
    for card in cards:
        assert_valid_card(card)
