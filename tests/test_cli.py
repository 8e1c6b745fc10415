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


def _every_parser(parser):
    import argparse

    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _every_parser(child)


def test_every_option_of_every_subcommand_has_help():
    import argparse

    from bot.cli import parser

    missing = []
    for each in _every_parser(parser()):
        for action in each._actions:
            if isinstance(action, argparse._SubParsersAction):  # each subcommand's own line
                missing += [f"{each.prog} {c.dest}" for c in action._choices_actions if not c.help]
            elif not action.help:
                missing.append(f"{each.prog} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_version_names_the_installed_distribution(capsys):
    from importlib.metadata import version

    import pytest

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"beredskab {version('ssp-beredskab')}"


def test_the_help_lists_the_scenarios_the_demo_knows(capsys):
    from bot.cli import SCENARIO_NAMES, parser
    from bot.demo import SCENARIOS

    assert tuple(SCENARIOS) == SCENARIO_NAMES
    demo = next(p for p in _every_parser(parser()) if p.prog.endswith(" demo"))
    assert "skyderi" in demo.format_help()


def test_demo_mode_without_the_emulator_says_what_to_install(monkeypatch, capsys):
    import bot.cli as cli

    real = cli.find_spec
    monkeypatch.setattr(cli, "find_spec", lambda name: None if name == "aiosmtpd" else real(name))
    assert main(["serve", "--demo"]) == 2
    assert main(["demo", "--scenario", "skyderi", "--out", "x"]) == 2
    error = capsys.readouterr().err
    assert "mangler: aiosmtpd" in error and "pip install 'ssp-beredskab[demo]'" in error


def test_db_upgrade_makes_the_folder_of_the_sqlite_file(tmp_path, monkeypatch, capsys):
    """A fresh machine has no var/: the migration makes it (it used to stop with 'unable to
    open database file')."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BEREDSKAB_DATABASE_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "var" / "beredskab.db").is_file()
    nested = tmp_path / "a" / "b" / "c.db"
    assert main(["db", "upgrade", "--database-url", f"sqlite:///{nested}"]) == 0
    assert nested.is_file()
