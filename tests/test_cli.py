"""The `beredskab` command line: database upgrade and directory import (good and bad files)."""
from __future__ import annotations

from sqlmodel import Session, func, select

from bot.cli import main
from handleplaner.directory import DEMO_ORGANISATION
from handleplaner.directory.models import Person
from handleplaner.storage import make_engine


def people(url: str) -> list[tuple[str, str, bool]]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = [(p.id, p.email, p.active) for p in session.exec(select(Person).order_by(Person.id))]
    engine.dispose()
    return rows


def test_db_upgrade_then_import_then_a_malformed_file_changes_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "Databasen er opdateret" in capsys.readouterr().out

    assert main(["directory", "import", str(DEMO_ORGANISATION), "--database-url", url]) == 0
    assert "indlæst" in capsys.readouterr().out
    before = people(url)
    assert len(before) > 350

    lines = DEMO_ORGANISATION.read_text(encoding="utf-8").splitlines()
    first_email = next(i for i, line in enumerate(lines) if line.strip().startswith("email:"))
    lines[first_email] = lines[first_email].split("email:")[0] + "email: ikke-en-adresse"
    broken = tmp_path / "organisation.yaml"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    assert main(["directory", "import", str(broken), "--database-url", url]) == 1
    error = capsys.readouterr().err
    assert "intet er ændret" in error
    assert f"linje {first_email + 1}" in error and ".email" in error
    assert people(url) == before


def test_a_yaml_syntax_error_names_the_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    main(["db", "upgrade", "--database-url", url])
    bad = tmp_path / "bad.yaml"
    bad.write_text("authorities:\n  - {code: BUF, name: \"Børne\"\nareas: [\n", encoding="utf-8")
    assert main(["directory", "import", str(bad), "--database-url", url]) == 1
    assert "linje" in capsys.readouterr().err
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Person)).one() == 0
    engine.dispose()


def test_unknown_scenario_is_refused(capsys, tmp_path):
    assert main(["demo", "--scenario", "ukendt", "--out", str(tmp_path)]) == 2
    assert "Ukendt scenarie 'ukendt'. Kendte: skyderi" in capsys.readouterr().err
