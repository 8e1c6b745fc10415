"""The one personal-data check: normalising, CPR numbers in every shape, registered and directory
people, likely names, and the Team Sikker By version."""
from __future__ import annotations

import pytest

from handleplaner.privacy.check import (CPR, DIREKTORIET, MULIGT_NAVN, NAVN, Finding,
                                        LikelyNames, PersonalDataFound, find_personal_data,
                                        normalise, redact_personal_data)
from handleplaner.privacy.sharing import assert_shareable, check_sikkerby
from tests.plans.test_plan_documents import make_snapshot


def cprs(text: str) -> list[Finding]:
    return [f for f in find_personal_data(text, confidential_names=()) if f.kind == "cpr"]


def guard_sikkerby(snapshot: dict) -> list[Finding]:
    """What stops the Team Sikker By version (no database: the plan's own names only)."""
    return check_sikkerby(None, snapshot).stops


# --- CPR numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "010203-1234",
    "0102031234",
    "01.02.03-1234",
    "010203 1234",
    "01 02 03 1234",
    "01.02.03 1234",
    "010203 - 1234",
    "010203–1234",
    "cpr:0102031234",
    "Drengens cpr-nr. er 010203-1234, oplyst af moren.",
    "CPR0102031234.",
    "(290204-4321)",  # 29 February in a leap year
    "311299-1234",
    # shapes the check reads since every dash, slash, dot, underscore and space separates
    "01-02-03-1234",
    "01/02/03-1234",
    "010203/1234",
    "010203.1234",
    "010203_1234",
    "0102 031234",
    "01 - 02 - 03 - 1234",
    # invisible and look-alike characters between the digits
    "010203\u00a01234",         # no-break space
    "010203\u2009-\u20091234",  # thin spaces around the hyphen
    "0102\u200b03\u200b1234",   # zero-width spaces
    "010203\u00ad1234",         # soft hyphen
    "010203\uff0d1234",         # full-width hyphen
    "010203\u20111234",         # non-breaking hyphen
    "010203\u22121234",         # minus sign
    "\uff10\uff11\uff10\uff12\uff10\uff13-\uff11\uff12\uff13\uff14",  # full-width digits
])
def test_finds_cpr_numbers(text):
    found = cprs(text)
    assert len(found) == 1, text
    assert found[0].kind == "cpr"


def test_position_and_excerpt():
    text = "Drengen med cpr:010203-1234 bor på Nørrebro i en opgang ved pladsen."
    [finding] = cprs(text)
    assert finding.position == text.index("010203-1234")
    assert "010203" not in finding.excerpt and "••••••-••••" in finding.excerpt
    assert finding.excerpt.startswith("…") and finding.excerpt.endswith("…")


@pytest.mark.parametrize("text", [
    "Ring på +45 12 34 56 78 eller 12345678.",
    "+45 31 01 02 03",
    "+4531010203",
    "Tlf. 31 01 02 03 / 20 11 95 12",
    "Mødet er 23.11.2026 kl. 21:14.",
    "23.11.2026 21:14-22:30",
    "Fra 01.02.2026 1234 deltagere",  # a four-digit year is a date, not a CPR number
    "Reference H-2026-0001, plan 7 version 2",
    "2026-11-23T20:14:00+00:00",
    "Kl. 09:00-17:00 og 18.30-22.00",
    "Sagsnr. 12345678901234",  # too long
    "320103-1234",  # no 32nd day
    "011303-1234",  # no 13th month
    "300203-1234",  # no 30 February
    "290203-1234",  # 2003 was not a leap year
    "000103-1234",  # no day 0
    "010203-123",   # too few digits
    "31-02-03-1234",  # no 31 February, in the new shape too
    "Tlf. 31 01 02 03 / 20 11 95 12",
    "2026/11/23 1200",
])
def test_does_not_flag_phones_dates_times_or_references(text):
    assert cprs(text) == [], text


# --- names -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Mødet med Yusuf Hansen aflyses.",
    "mødet med yusuf hansen aflyses",
    "YUSUF HANSEN",
    "Yusuf\n   Hansen er flyttet",
    "Yusuf\u00a0Hansen",
    "<p>Yusuf<br>Hansen</p>",
    "<td><strong>Yusuf</strong> Hansen</td>",
    "<p>Yusuf &nbsp;Hansen</p>",
    "Yusuf Hansens far",
    "Hansen, Yusuf",
])
def test_finds_confidential_names(text):
    found = find_personal_data(text, confidential_names=["Yusuf Hansen"])
    assert [f.kind for f in found] == ["navn"], text


@pytest.mark.parametrize("text", [
    "Yusuf Hansenvej 12",      # not on a word boundary
    "Yusufs Hansen",
    "Hansen-familien",
    "Yusuf alene",
])
def test_names_only_on_word_boundaries(text):
    assert find_personal_data(text, confidential_names=["Yusuf Hansen"]) == []


def test_names_with_danish_letters_and_hyphens():
    names = ["Åse Ølgaard", "Anne-Marie Bæk"]
    assert len(find_personal_data("åse ølgaard og ANNE-MARIE BÆK", confidential_names=names)) == 2
    assert len(find_personal_data("Anne-\nMarie Bæk", confidential_names=names)) == 1
    assert find_personal_data("&Aring;se &Oslash;lgaard", confidential_names=names)[0].kind == "navn"


# --- the guard on the Team Sikker By version ---------------------------------------------------

def test_a_clean_snapshot_passes():
    snapshot = make_snapshot()
    assert check_sikkerby(None, snapshot).findings == []
    assert_shareable(None, snapshot)


def test_phone_numbers_dates_references_and_times_in_shared_text_pass():
    snapshot = make_snapshot(purpose="Ring til vagten på +45 12 34 56 78 eller 33 66 33 66. Møde "
                                     "23.11.2026 kl. 21:14 og 18.30-22.00 om H-2026-0001.")
    snapshot["measures"][0]["title"] = "Patrulje 1200-1800 ved Nørrebrogade 20, 2200 N"
    assert guard_sikkerby(snapshot) == []


def test_the_guard_sees_through_the_filter_what_the_filter_cannot_remove():
    # The full version has names, notes, phone numbers and dates; the guard checks only what
    # Team Sikker By gets, and that the filter removed the names it knows.
    snapshot = make_snapshot()
    snapshot["measures"][0]["notes"] = "cpr 010203-1234, ring +45 12 34 56 78"
    snapshot["measures"][2]["title"] = "Hjemmebesøg hos Yusuf Hansen, 0102031234"  # confidential
    snapshot["background"] = snapshot["background"] + " Mødet 23.11.2026 kl. 21:14, H-2026-0001."
    assert guard_sikkerby(snapshot) == []


def test_guard_finds_cpr_number_in_a_shared_measure_title():
    snapshot = make_snapshot()
    snapshot["measures"][1]["title"] = "Forældresamtale med familien (cpr:0102031234)"
    findings = guard_sikkerby(snapshot)
    assert [f.kind for f in findings] == ["cpr"]
    assert findings[0].place == "indsats 2, planens titel"
    assert "0102031234" not in findings[0].excerpt and "••••••••••" in findings[0].excerpt
    with pytest.raises(PersonalDataFound) as caught:
        assert_shareable(None, snapshot)
    assert caught.value.findings == findings
    message = str(caught.value)
    assert "Team Sikker By" in message
    assert "indsats 2, planens titel: CPR-nummer fundet: '" in message
    assert "0102031234" not in message


def test_guard_finds_cpr_number_in_a_measure_description():
    snapshot = make_snapshot()
    snapshot["measures"][3]["description"] = "Kontakt til drengen, 01.02.03-1234, via klubben."
    assert [f.kind for f in guard_sikkerby(snapshot)] == ["cpr"]


def test_guard_finds_a_confidential_name_in_the_background():
    snapshot = make_snapshot(background="Konflikten startede, da Yusuf\nHansen blev truet.")
    findings = guard_sikkerby(snapshot)
    assert [f.kind for f in findings] == ["navn"]
    assert findings[0].place == "baggrund"
    with pytest.raises(PersonalDataFound) as caught:
        assert_shareable(None, snapshot)
    assert "baggrund: Navn på en involveret person fundet: '" in str(caught.value)
    assert "Hansen" not in str(caught.value)


def test_guard_finds_a_named_person_written_into_free_text():
    # The responsible person is filtered out of the Ansvarlig column, but not out of free text.
    snapshot = make_snapshot(purpose="Jens Patruljesen leder indsatsen.")
    assert [f.kind for f in guard_sikkerby(snapshot)] == ["navn"]


def test_guard_ignores_a_confidential_background_that_the_filter_drops():
    snapshot = make_snapshot(background="Yusuf Hansen, 010203-1234, blev truet.")
    snapshot["incident"] = {**snapshot["incident"], "confidential": True}
    assert guard_sikkerby(snapshot) == []
    assert_shareable(None, snapshot)
