"""Importing the organisation file: upserts, deactivation, replaced memberships, all or nothing."""
from __future__ import annotations

import pytest
from conftest import SMALL
from sqlmodel import Session, select

from handleplaner.directory import (DEMO_ORGANISATION, Area, Authority, DirectoryError, Group,
                                    GroupArea, Membership, Person, import_directory,
                                    import_directory_file, load_directory)
from handleplaner.storage import transaction


def write(tmp_path, text, name="org.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(engine) -> dict:
    with Session(engine) as session:
        return {model.__name__: sorted(row.model_dump_json() for row in session.exec(select(model)))
                for model in (Authority, Area, Person, Group, GroupArea, Membership)}


def test_first_import_creates_everything(engine, tmp_path):
    report = import_directory_file(engine, write(tmp_path, SMALL))
    assert report.created == {"authority": 4, "area": 2, "group": 3, "person": 6}
    assert report.updated == report.deactivated == dict.fromkeys(report.created, 0)
    assert report.memberships_added == 7 and report.group_areas_added == 2
    with Session(engine) as session:
        s1 = session.get(Person, "s1")
        assert (s1.deputy_id, s1.channels, s1.active) == ("s2", "teams,email", True)
        assert session.get(Person, "m1").channels == "email,sms"
        assert session.get(Group, "sekretariat").chair_id == "s1"
        assert session.get(Membership, ("ledergruppe-1", "s2")).role_in_group == "sekretær"


def test_reimport_is_idempotent(engine, tmp_path):
    path = write(tmp_path, SMALL)
    import_directory_file(engine, path)
    before = snapshot(engine)
    again = import_directory_file(engine, path)
    assert not again.changed
    assert again.created == again.updated == again.deactivated == {
        "authority": 0, "area": 0, "group": 0, "person": 0}
    assert snapshot(engine) == before


def test_demo_import_twice(engine):
    first = import_directory_file(engine, DEMO_ORGANISATION)
    assert first.created["person"] == len(load_directory(DEMO_ORGANISATION).people)
    second = import_directory_file(engine, DEMO_ORGANISATION)
    assert not second.changed, str(second)


def test_removed_person_is_deactivated_not_deleted(engine, tmp_path):
    import_directory_file(engine, write(tmp_path, SMALL))
    # m1 leaves: drop the person and the lokaludvalg membership (given to b2 instead).
    text = SMALL.replace("      - {person: m1}\n", "      - {person: b2}\n")
    text = text[:text.index("  - id: m1\n")]
    report = import_directory_file(engine, write(tmp_path, text, "v2.yaml"))
    assert report.deactivated == {"authority": 0, "area": 0, "group": 0, "person": 1}
    assert report.created["person"] == 0 and report.updated["person"] == 0
    assert (report.memberships_added, report.memberships_removed) == (1, 1)
    with Session(engine) as session:
        m1 = session.get(Person, "m1")
        assert m1 is not None and m1.active is False
        assert session.get(Membership, ("lokaludvalg-bispebjerg", "m1")) is None
    # Coming back reactivates, counted as an update.
    report = import_directory_file(engine, write(tmp_path, SMALL, "v3.yaml"))
    assert report.updated["person"] == 1 and report.created["person"] == 0
    with Session(engine) as session:
        assert session.get(Person, "m1").active is True


def test_changes_are_upserted(engine, tmp_path):
    import_directory_file(engine, write(tmp_path, SMALL))
    text = (SMALL.replace("name: Fiktiv Fritidsleder", "name: Fiktiv Ny Fritidsleder")
            .replace("deputy: s1\n", "deputy: b1\n")  # s2's deputy moves to another authority
            .replace("{person: s2}", "{person: s2, role: sekretær}")
            .replace("areas: [indre-noerrebro]", "areas: [indre-noerrebro, bispebjerg]")
            .replace("{code: BUF, name: Børne- og Ungdomsforvaltningen",
                     "{code: BUF, name: Børne- og Ungdomsforvaltningen (BUF)"))
    report = import_directory_file(engine, write(tmp_path, text, "v2.yaml"))
    assert report.updated == {"authority": 1, "area": 0, "group": 0, "person": 2}
    assert report.memberships_changed == 1 and report.group_areas_added == 1
    with Session(engine) as session:
        assert session.get(Person, "b2").name == "Fiktiv Ny Fritidsleder"
        assert session.get(Person, "s2").deputy_id == "b1"
        assert session.get(GroupArea, ("ledergruppe-1", "bispebjerg")) is not None


def test_removed_group_and_area_are_deactivated(engine, tmp_path):
    import_directory_file(engine, write(tmp_path, SMALL))
    start = SMALL.index("  - code: lokaludvalg-bispebjerg\n")
    text = SMALL[:start] + SMALL[SMALL.index("people:\n"):]
    text = text.replace("  - {code: bispebjerg, name: Bispebjerg, bydel: Bispebjerg}\n", "")
    report = import_directory_file(engine, write(tmp_path, text, "v2.yaml"))
    assert report.deactivated == {"authority": 0, "area": 1, "group": 1, "person": 0}
    assert report.group_areas_removed == 1 and report.memberships_removed == 1
    with Session(engine) as session:
        assert session.get(Group, "lokaludvalg-bispebjerg").active is False
        assert session.get(Area, "bispebjerg").active is False


def test_new_person_with_circular_deputies_and_moved_email(engine, tmp_path):
    import_directory_file(engine, write(tmp_path, SMALL))
    # m1 leaves; two newcomers are each other's deputy, and one takes over m1's address.
    text = SMALL[:SMALL.index("  - id: m1\n")].replace("{person: m1}", "{person: n1}") + """\
  - id: n1
    name: Fiktiv Nyansat
    role: medarbejder
    authority: SOF
    email: fiktiv.medarbejder@sof.kk.example
    deputy: n2
  - id: n2
    name: Fiktiv Nyansat To
    role: medarbejder
    authority: SOF
    email: fiktiv.nyansat@sof.kk.example
    deputy: n1
"""
    report = import_directory_file(engine, write(tmp_path, text, "v2.yaml"))
    assert report.created["person"] == 2 and report.deactivated["person"] == 1
    with Session(engine) as session:
        assert session.get(Person, "n1").deputy_id == "n2"
        assert session.get(Person, "n2").deputy_id == "n1"
        assert session.get(Person, "n1").email == "fiktiv.medarbejder@sof.kk.example"
        assert session.get(Person, "m1").active is False


def test_two_people_swap_email(engine, tmp_path):
    import_directory_file(engine, write(tmp_path, SMALL))
    text = (SMALL.replace("fiktiv.skoleleder@buf", "TMP@buf")
            .replace("fiktiv.fritidsleder@buf", "fiktiv.skoleleder@buf")
            .replace("TMP@buf", "fiktiv.fritidsleder@buf"))
    report = import_directory_file(engine, write(tmp_path, text, "v2.yaml"))
    assert report.updated["person"] == 2
    with Session(engine) as session:
        assert session.get(Person, "b1").email == "fiktiv.fritidsleder@buf.kk.example"


def test_failed_import_changes_nothing(engine, tmp_path):
    import_directory_file(engine, write(tmp_path, SMALL))
    before = snapshot(engine)
    bad = SMALL.replace("name: Fiktiv Chef", "name: Fiktiv Omdøbt").replace(
        "authority: KRIM", "authority: NOPE")
    with pytest.raises(DirectoryError) as caught:
        import_directory_file(engine, write(tmp_path, bad, "bad.yaml"))
    assert [p.field for p in caught.value.problems] == ["people[4].authority"]
    with pytest.raises(DirectoryError):
        import_directory_file(engine, write(tmp_path, "people: [\n", "syntax.yaml"))
    assert snapshot(engine) == before


def test_error_during_import_rolls_back(engine, tmp_path, monkeypatch):
    import_directory_file(engine, write(tmp_path, SMALL))
    before = snapshot(engine)
    from handleplaner.directory import importer

    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(importer, "_replace_memberships", boom)
    changed = SMALL.replace("name: Fiktiv Chef", "name: Fiktiv Omdøbt")
    with pytest.raises(RuntimeError):
        import_directory_file(engine, write(tmp_path, changed, "v2.yaml"))
    assert snapshot(engine) == before


def test_import_in_callers_transaction(engine):
    data = load_directory(SMALL)
    with transaction(engine) as session:
        report = import_directory(session, data)
        assert report.created["person"] == 6
        session.rollback()
    assert snapshot(engine)["Person"] == []
