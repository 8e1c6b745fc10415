"""The production image's files agree with the code and with docs/deployment.md.

The image itself is built and tried by scripts/check_image.sh (minutes, needs podman; not in the
suite). These tests read the Containerfile and the compose example: every BEREDSKAB_* name they
use is a real setting, the settings production requires are in the example's environment, the
health check asks the port the service listens on as a non-root user, and the example's nginx
configuration and grants are the ones deployment.md documents.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.settings import REQUIRED, Settings

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "Containerfile"
COMPOSE = ROOT / "docs" / "compose"
DEPLOYMENT = ROOT / "docs" / "deployment.md"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Containerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip() if " " in line else "")
            for line in (raw.strip() for raw in joined.splitlines()) if line]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions(CONTAINERFILE.read_text())
    last_from = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last_from:]


def _compose() -> dict:
    return yaml.safe_load((COMPOSE / "compose.yaml").read_text())


def _env_example() -> dict[str, str]:
    lines = (COMPOSE / "beredskab.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_beredskab_variable_named_is_a_setting():
    fields = {f"BEREDSKAB_{name.upper()}" for name in Settings.model_fields}
    texts = [CONTAINERFILE.read_text()] + [p.read_text() for p in sorted(COMPOSE.iterdir())]
    named = set().union(*(re.findall(r"BEREDSKAB_[A-Z0-9_]+", text) for text in texts))
    assert named, "the image's files name no setting at all"
    assert named <= fields, f"not settings: {sorted(named - fields)}"


def test_the_example_environment_gives_what_production_requires():
    compose = _compose()
    replicas = [s for s in compose["services"].values()
                if s.get("image", "").startswith("beredskab") and "command" not in s]
    assert len(replicas) >= 2
    example = _env_example()
    for replica in replicas:
        given = set(example) | set(replica.get("environment", {}))
        needed = {f"BEREDSKAB_{name.upper()}" for name in [*REQUIRED, "public_url",
                                                             "database_url"]}
        assert needed <= given, f"missing: {sorted(needed - given)}"
        assert replica["environment"]["BEREDSKAB_DATABASE_URL"].startswith(
            "postgresql://beredskab_app:")


def test_migrations_run_as_the_owner_before_the_replicas_start():
    services = _compose()["services"]
    migrate, grants = services["migrate"], services["grants"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["environment"]["BEREDSKAB_DATABASE_URL"].startswith(
        "postgresql://beredskab_ejer:")
    assert grants["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name, service in services.items():
        if service.get("image") == migrate["image"] and name != "migrate":
            assert service["depends_on"]["grants"]["condition"] == (
                "service_completed_successfully"), name


def test_the_image_runs_the_service_as_a_numeric_non_root_user():
    final = dict(_final_stage())
    user, _, group = final["USER"].partition(":")
    assert user.isdigit() and int(user) != 0 and group.isdigit() and int(group) != 0


def test_the_health_check_asks_healthz_on_the_port_the_service_listens_on():
    final = _final_stage()
    listen = re.search(r'"--port",\s*"(\d+)"', dict(final)["CMD"]).group(1)
    health = dict(final)["HEALTHCHECK"]
    assert f"127.0.0.1:{listen}/healthz" in health
    assert dict(final)["EXPOSE"] == listen
    assert re.search(r'"--host",\s*"0\.0\.0\.0"', dict(final)["CMD"])


def test_the_base_is_an_argument_defaulting_to_the_official_python_slim_image():
    steps = _instructions(CONTAINERFILE.read_text())
    assert steps[0][0] == "ARG" and re.fullmatch(
        r"BASE=docker\.io/library/python:3\.1[1-9]-slim", steps[0][1])
    assert all(args.split()[0] == "${BASE}" for name, args in steps if name == "FROM")


def test_the_build_context_lets_through_what_the_containerfile_copies():
    allowed = [line[1:] for line in (ROOT / ".containerignore").read_text().splitlines()
               if line.startswith("!")]
    copied = [args.split()[0] for name, args in _instructions(CONTAINERFILE.read_text())
              if name == "COPY" and "--from" not in args]
    assert copied
    for source in copied:
        assert any(source.rstrip("/") == pattern.split("/")[0] or source == pattern
                   for pattern in allowed), source


def _documented(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DEPLOYMENT.read_text(), re.S)


def test_the_example_nginx_is_the_documented_one_with_the_replicas_as_upstream():
    def body(text: str) -> list[str]:
        lines = [line.strip() for line in text.splitlines()]
        return [line for line in lines
                if line and not line.startswith("#") and not line.startswith("server ")
                or line.startswith("server {")]

    (documented,) = _documented("nginx")
    example = (COMPOSE / "nginx.conf").read_text()
    assert body(example) == body(documented)
    upstream = re.findall(r"^\s*server (\S+):8400 ", example, re.M)
    replicas = [name for name, s in _compose()["services"].items()
                if s.get("image", "").startswith("beredskab") and "command" not in s]
    assert sorted(upstream) == sorted(replicas)


def test_the_example_grants_are_the_documented_ones():
    def statements(text: str) -> set[str]:
        text = re.sub(r"--[^\n]*|^\\[^\n]*", "", text, flags=re.M)  # comments, psql's \c
        return {" ".join(s.split()) for s in text.split(";") if s.strip()}

    documented = set().union(*(statements(block) for block in _documented("sql")))
    grants = statements((COMPOSE / "postgres-grants.sql").read_text())
    roles_script = (COMPOSE / "postgres-roles.sh").read_text()
    roles = statements(roles_script[roles_script.index("<<'SQL'") + 7:roles_script.index("\nSQL")])
    assert grants and grants <= documented
    # The role itself is made with the example's password; its rights are the documented ones.
    assert {s for s in roles if not s.startswith("CREATE ROLE")} <= documented
    assert any(s.startswith("CREATE ROLE beredskab_app LOGIN") for s in roles)
