"""The built wheel, installed into a fresh virtual environment outside the checkout, run from an
empty folder: every template, plan template and migration comes from the installed package
(importlib.resources), the emulator is the `[demo]` extra, and the demo scenario writes every
file the README lists."""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from .newcomer import (PYTHON, START_SECONDS, Background, clean_environment, clone, demo_files,
                       free_port, get, run)

# Run inside the installed environment: every Jinja2 template compiles, the plan templates load.
# (web pages with the pages' environment, the plan document with its own, the rest as sent).
LOAD_EVERY_TEMPLATE = """
import beredskab_templates
from bot.pages import _ENV as pages
from handleplaner.plans.documents import environment as documents
from handleplaner.plans.templates import load_plan_templates
from notifications.rendering import environment as messages
names = messages().list_templates(extensions=["j2"])
for name in names:
    env = pages if name.startswith("web/") else documents() if name.startswith("plans/") else messages()
    env.get_template(name)
print(beredskab_templates.folder())
print(len(names), len(load_plan_templates()))
"""


def _ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_wheel_installed_elsewhere_runs_the_demo_from_an_empty_folder(tmp_path):
    source = clone(tmp_path / "kilde")
    env = clean_environment(PIP_DISABLE_PIP_VERSION_CHECK="1")
    _ok(run([PYTHON, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
             str(tmp_path / "wheels"), str(source)], cwd=tmp_path, env=env))
    [wheel] = (tmp_path / "wheels").glob("ssp_beredskab-*.whl")
    version = wheel.name.split("-")[1]

    shipped = set(zipfile.ZipFile(wheel).namelist())
    tracked = _ok(run(["git", "ls-files", "templates"], cwd=source, env=env)).stdout.split()
    assert tracked
    missing = [name for name in tracked
               if "beredskab_templates/" + name.removeprefix("templates/") not in shipped]
    assert not missing, f"the wheel lacks {missing}"

    venv = tmp_path / "venv"
    _ok(run([PYTHON, "-m", "venv", str(venv)], cwd=tmp_path, env=env))
    python, beredskab = venv / "bin" / "python", venv / "bin" / "beredskab"
    constraints = str(source / "constraints.txt")
    _ok(run([str(python), "-m", "pip", "install", "--quiet", "-c", constraints, str(wheel)],
            cwd=tmp_path, env=env))

    empty = tmp_path / "tom"
    empty.mkdir()
    assert _ok(run([str(beredskab), "--version"], cwd=empty, env=env)).stdout.strip() == \
        f"beredskab {version}"
    refused = run([str(beredskab), "serve", "--demo"], cwd=empty, env=env, timeout=60)
    assert refused.returncode == 2
    assert "pip install 'ssp-beredskab[demo]'" in refused.stderr and "Traceback" not in refused.stderr

    _ok(run([str(beredskab), "db", "upgrade"], cwd=empty, env=env))
    assert (empty / "var" / "beredskab.db").is_file()
    loaded = _ok(run([str(python), "-c", LOAD_EVERY_TEMPLATE], cwd=empty, env=env)).stdout.split()
    assert Path(loaded[0]).is_relative_to(venv)  # read from the installed package, not the clone
    assert int(loaded[1]) == sum(name.endswith(".j2") for name in tracked)
    assert int(loaded[2]) == sum(name.startswith("templates/plans/") and name.endswith(".yaml")
                                 for name in tracked)

    _ok(run([str(python), "-m", "pip", "install", "--quiet", "-c", constraints, f"{wheel}[demo]"],
            cwd=tmp_path, env=env))
    _ok(run([str(beredskab), "demo", "--scenario", "skyderi", "--out", "demo-out"], cwd=empty,
            env=env))
    for pattern in demo_files():
        assert list((empty / "demo-out").glob(pattern)), f"the demo did not write {pattern}"

    served = tmp_path / "serve-her"
    served.mkdir()
    port = free_port()
    server = Background([str(beredskab), "serve", "--demo", "--port", str(port), "--emulator-port",
                         str(free_port())], cwd=served, env=env, log=tmp_path / "serve.log")
    try:
        status, page = server.wait_for(f"http://127.0.0.1:{port}/log-ind", START_SECONDS)
        assert status == 200 and "<h1>Log ind</h1>" in page
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        assert server.stop() == 0, server.output()[-4000:]
    assert (served / "var" / "beredskab.db").is_file()
