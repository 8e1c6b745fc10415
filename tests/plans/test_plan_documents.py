"""The plan version as a document: full HTML, the Team Sikker By version, and the PDF."""
from __future__ import annotations

import copy
import io
import re

import pytest
from pypdf import PdfReader

from handleplaner.plans.documents import (SIKKERBY_HEADER, render_plan_html, render_plan_pdf,
                                          sikkerby_version)
from handleplaner.privacy.check import html_to_text


def make_snapshot(**changes) -> dict:
    """A frozen handleplan as the plan service produces it (fictional people)."""
    snapshot = {
        "plan_id": 7, "version": 2, "kind": "handleplan", "kind_label": "Handleplan",
        "title": "Fælles handleplan: Skud ved boligområde", "template": "skyderi",
        "incident": {"reference": "H-2026-0001", "type_label": "Skyderi eller knivstikkeri",
                     "severity_label": "Akut", "areas": ["Indre Nørrebro", "Ydre Nørrebro"],
                     "occurred_at": "2026-11-23T20:14:00+00:00", "exercise": False,
                     "confidential": False},
        "period": {"start": "2026-11-23T22:00:00+00:00", "end": "2026-12-07T22:59:00+00:00",
                   "extended": [{"reason": "Fortsat uro på pladsen", "new_end": "2026-12-14T22:59:00+00:00",
                                 "by": "Birthe Sekretær", "at": "2026-12-06T09:30:00+00:00"}]},
        "purpose": "Skabe tryghed og normaldrift på Nørrebro efter skuddet.",
        "background": "Skud affyret ved boligområdet søndag aften; to grupper af unge er i konflikt.",
        "measures": [
            {"key": "m1", "title": "Synlig patruljering på Blågårds Plads",
             "measure_type": "synlig-patruljering", "measure_label": "Synlig patruljering",
             "authority": "POL", "authority_name": "Københavns Politi",
             "responsible": {"id": "p0009", "name": "Jens Patruljesen", "title": "Politikommissær"},
             "starts_at": "2026-11-23T22:00:00+00:00", "ends_at": "2026-11-30T22:00:00+00:00",
             "status": "planlagt", "status_label": "Planlagt",
             "notes": "Koordinér med nattevagten i klubben.", "confidential": False},
            {"key": "m2", "title": "Forældresamtaler på Nørrebro Park Skole",
             "measure_type": "foraeldresamtaler", "measure_label": "Forældresamtaler",
             "authority": "BUF", "authority_name": "Børne- og Ungdomsforvaltningen",
             "responsible": {"id": "p0012", "name": "Åse Ølgaard", "title": "Skoleleder"},
             "starts_at": "2026-11-24T07:00:00+00:00", "ends_at": "2026-11-28T15:00:00+00:00",
             "status": "bekraeftet", "status_label": "Bekræftet",
             "notes": "Tolk på arabisk og somali bestilt.", "confidential": False},
            {"key": "m3", "title": "Hjemmebesøg hos de unge i konflikten",
             "measure_type": "hjemmebesoeg", "measure_label": "Hjemmebesøg",
             "authority": "POL", "authority_name": "Københavns Politi",
             "responsible": {"id": "p0010", "name": "Karin Forebyggersen", "title": "Vicepolitiinspektør"},
             "starts_at": "2026-11-24T15:00:00+00:00", "ends_at": "2026-11-26T20:00:00+00:00",
             "status": "planlagt", "status_label": "Planlagt",
             "notes": "Sammen med SOF.", "confidential": True},
            {"key": "m4", "title": "Opsøgende gadeplansarbejde",
             "measure_type": "opsoegende", "measure_label": "Opsøgende arbejde",
             "authority": "SOF", "authority_name": "Socialforvaltningen", "responsible": None,
             "starts_at": "2026-11-23T21:00:00+00:00", "ends_at": "2026-12-01T23:00:00+00:00",
             "status": "i-gang", "status_label": "I gang", "notes": "", "confidential": False},
        ],
        "communication": [
            {"audience": "Forældre på skolen", "what": "Brev via Aula om tryghed og samtaler",
             "when": "2026-11-24T06:00:00+00:00", "confidentiality": "offentlig"},
            {"audience": "Styregruppen", "what": "Hemmelig status om de involverede familier",
             "when": "Dagligt kl. 9", "confidentiality": "fortrolig"},
            {"audience": "Medarbejdere i klubberne", "what": "Orientering på personalemøde",
             "when": "2026-11-24T12:00:00+00:00", "confidentiality": "intern"},
        ],
        "evaluation": {"at": "2026-12-08T09:00:00+00:00", "text": "Evaluering på beredskabsmøde."},
        "approval": {"state": "godkendt", "state_label": "Godkendt", "rule": "formand",
                     "rule_label": "Formanden godkender",
                     "decisions": [{"person": "Henrik Formandsen", "decision": "godkend",
                                    "comment": "Godkendt med tak.", "at": "2026-11-24T08:15:00+00:00"}]},
        "frozen_at": "2026-11-23T23:05:00+00:00", "frozen_by": "Birthe Sekretær",
        "confidential_people": ["Yusuf Hansen"],
    }
    snapshot.update(changes)
    return snapshot


RESPONSIBLE = ("Jens Patruljesen", "Åse Ølgaard", "Karin Forebyggersen")
NOTES = ("Koordinér med nattevagten", "Tolk på arabisk", "Sammen med SOF")


def text_of(html: str) -> str:
    return " ".join(html_to_text(html).split())


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


# --- the full version ----------------------------------------------------------------------------

def test_full_html_groups_measures_per_authority_with_responsible_people():
    html = render_plan_html(make_snapshot())
    assert html.startswith("<!doctype html>")
    groups = re.findall(r'<section class="authority" data-authority="([^"]*)">(.*?)</section>',
                        html, re.DOTALL)
    assert [code for code, _ in groups] == ["POL", "BUF", "SOF"]
    police = dict(groups)["POL"]
    assert "Synlig patruljering på Blågårds Plads" in police
    assert "Hjemmebesøg hos de unge i konflikten" in police  # both police measures, one group
    assert "Forældresamtaler" not in police
    assert "Forældresamtaler på Nørrebro Park Skole" in dict(groups)["BUF"]
    text = text_of(html)
    assert "Københavns Politi (POL)" in text
    for name in RESPONSIBLE:
        assert name in text
    assert "Politikommissær" in text
    for note in NOTES:
        assert note in text


def test_full_html_shows_facts_period_and_times_in_copenhagen_time():
    text = text_of(render_plan_html(make_snapshot()))
    assert "Handleplan" in text and "Fælles handleplan: Skud ved boligområde" in text
    assert "Reference H-2026-0001 · version 2" in text
    assert "Indre Nørrebro, Ydre Nørrebro" in text
    # 20:14 UTC on 23 November is 21:14 in Copenhagen (winter time).
    assert "23.11.2026 kl. 21:14" in text
    assert "23.11.2026 kl. 23:00 – 30.11.2026 kl. 23:00" in text  # the patrol's time span
    assert "Forlænget til 14.12.2026 kl. 23:59: Fortsat uro på pladsen (Birthe Sekretær" in text
    assert "Gælder nu til 14.12.2026 kl. 23:59" in text
    assert "Skabe tryghed og normaldrift" in text
    assert "to grupper af unge er i konflikt" in text
    assert "Hemmelig status om de involverede familier" in text
    assert "Evalueres 08.12.2026 kl. 10:00" in text
    assert "Status: Godkendt (regel: Formanden godkender)" in text
    assert "Henrik Formandsen" in text and "Godkendt med tak." in text
    assert "Version 2, frosset 24.11.2026 kl. 00:05 af Birthe Sekretær" in text
    assert "ØVELSE" not in text
    assert "§115" not in text


def test_exercise_and_confidential_markings():
    snapshot = make_snapshot()
    snapshot["incident"] = {**snapshot["incident"], "exercise": True, "confidential": True}
    full = text_of(render_plan_html(snapshot))
    assert "ØVELSE" in full
    assert "§115 – fortroligt" in full
    sikkerby = text_of(render_plan_html(snapshot, variant="sikkerby"))
    assert "ØVELSE" in sikkerby
    assert "§115 – fortroligt" not in sikkerby


def test_html_is_escaped():
    snapshot = make_snapshot(purpose="<script>alert('x')</script> & mere")
    html = render_plan_html(snapshot)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html and "&amp; mere" in html


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError):
        render_plan_html(make_snapshot(), variant="offentlig")


def test_a_sparse_snapshot_still_renders():
    sparse = {"plan_id": 1, "version": 1, "kind": "beredskabsplan", "title": "Sidste skoledag",
              "incident": {"reference": "H-2026-0002"}, "evaluation": None}
    for variant in ("fuld", "sikkerby"):
        text = text_of(render_plan_html(sparse, variant=variant))
        assert "Beredskabsplan" in text and "Sidste skoledag" in text
        assert "Ingen indsatser." in text
        assert render_plan_pdf(sparse, variant=variant).startswith(b"%PDF-")


# --- the Team Sikker By version --------------------------------------------------------------

def test_sikkerby_html_has_no_people_notes_confidential_measures_or_fortrolig_communication():
    html = render_plan_html(make_snapshot(), variant="sikkerby")
    text = text_of(html)
    assert SIKKERBY_HEADER in text
    assert "Version til Team Sikker By – uden personoplysninger" in text
    for name in RESPONSIBLE + ("Birthe Sekretær", "Henrik Formandsen", "Yusuf Hansen"):
        assert name not in html
    assert "Politikommissær" not in html and "Skoleleder" not in html
    for note in NOTES:
        assert note not in html
    assert "Hjemmebesøg hos de unge" not in html  # the confidential measure
    assert "Hemmelig status" not in html  # fortrolig communication
    assert "Godkendt med tak." not in html  # decisions are left out; the state stays
    assert "Status: Godkendt" in text
    assert "Ansvarlig" not in text and "Noter" not in text
    # What may be shared is still there, per authority.
    assert "Synlig patruljering på Blågårds Plads" in text
    assert "Københavns Politi" in text
    assert "Forældresamtaler på Nørrebro Park Skole" in text
    assert "Brev via Aula" in text and "Orientering på personalemøde" in text
    assert "to grupper af unge er i konflikt" in text  # not confidential: background stays
    assert "Version 2, frosset 24.11.2026 kl. 00:05" in text
    assert "Fortsat uro på pladsen" in text


def test_sikkerby_leaves_out_background_and_description_of_confidential_incident():
    snapshot = make_snapshot()
    snapshot["incident"] = {**snapshot["incident"], "confidential": True,
                            "description": "Beskrivelse af skuddet og de involverede."}
    assert "Beskrivelse af skuddet" in render_plan_html(snapshot)
    html = render_plan_html(snapshot, variant="sikkerby")
    assert "Beskrivelse af skuddet" not in html
    assert "to grupper af unge" not in html
    assert "beskrivelse og baggrund er udeladt" in text_of(html)


def test_sikkerby_version_is_the_filtered_snapshot():
    original = make_snapshot()
    before = copy.deepcopy(original)
    public = sikkerby_version(original)
    assert original == before  # the frozen snapshot is not touched
    assert [m["key"] for m in public["measures"]] == ["m1", "m2", "m4"]
    assert all(m["responsible"] is None and m["notes"] == "" for m in public["measures"])
    assert [c["confidentiality"] for c in public["communication"]] == ["offentlig", "intern"]
    assert public["approval"]["decisions"] == []
    assert public["approval"]["state_label"] == "Godkendt"
    assert "confidential_people" not in public
    assert public["frozen_by"] == ""
    assert "by" not in public["period"]["extended"][0]
    assert sikkerby_version(public) == public  # filtering twice changes nothing
    # Rendering the filtered copy as the full variant shows the same measures.
    assert "Jens Patruljesen" not in render_plan_html(public)


def test_sikkerby_drops_fields_it_does_not_know():
    snapshot = make_snapshot()
    snapshot["measures"][0]["contact_phone"] = "Ring til Jens på 12345678"
    snapshot["secret_annex"] = "Bilag med navne"
    public = sikkerby_version(snapshot)
    assert "contact_phone" not in public["measures"][0]
    assert "secret_annex" not in public


# --- PDF -------------------------------------------------------------------------------------

def test_pdf_is_a_real_pdf_with_danish_letters_intact():
    data = render_plan_pdf(make_snapshot())
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in ("Forældresamtaler", "Københavns Politi", "Nørrebro", "Blågårds Plads",
                     "Åse Ølgaard", "Fælles handleplan: Skud ved boligområde", "H-2026-0001",
                     "23.11.2026 kl. 21:14"):
        assert expected in text, expected
    assert "å" in text and "æ" in text and "ø" in text
    assert "Version 2, frosset 24.11.2026 kl. 00:05 af Birthe Sekretær" in text
    assert "Jens Patruljesen" in text


def test_pdf_sikkerby_variant_has_the_same_filtering():
    snapshot = make_snapshot()
    snapshot["incident"] = {**snapshot["incident"], "exercise": True}
    text = pdf_text(render_plan_pdf(snapshot, variant="sikkerby"))
    assert "Version til Team Sikker By – uden personoplysninger" in text
    assert "ØVELSE" in text
    assert "Forældresamtaler" in text and "Københavns Politi" in text
    for secret in RESPONSIBLE + NOTES + ("Hjemmebesøg hos de unge", "Hemmelig status",
                                         "Birthe Sekretær", "Henrik Formandsen"):
        assert secret not in text, secret


def test_pdf_copes_with_characters_outside_the_standard_font_and_long_plans():
    snapshot = make_snapshot(purpose="Mål ≥ 3 møder → tryghed 🙂 for Łukasz")
    snapshot["measures"] = snapshot["measures"] * 15
    data = render_plan_pdf(snapshot)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 1
    text = pdf_text(data)
    assert "Mål >= 3 møder -> tryghed" in text
    assert "Side 2/" in text
