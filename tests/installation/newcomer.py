"""What the installation tests share: a clone of the repository as a newcomer makes it, a fresh
virtual environment, a process started in the background and polled over HTTP, and the list of
files the README says the demo writes."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Long enough for a cold pip install on a slow machine; a run that needs more has a problem.
INSTALL_SECONDS = 900
START_SECONDS = 120


def clone(into: Path) -> Path:
    """`git clone` of this repository's committed state into an empty folder."""
    into.mkdir(parents=True, exist_ok=True)
    assert not any(into.iterdir()), f"{into} er ikke tom"
    target = into / "ssp-beredskab"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(target)],
                   check=True, timeout=120)
    return target


def clean_environment(**changes: str) -> dict[str, str]:
    """The environment a newcomer's shell has: none of the suite's own settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BEREDSKAB_", "PYTEST", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.pop("COV_CORE_SOURCE", None)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    env.update(changes)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class Background:
    """A command in its own process group, its output in a file; stopped with SIGTERM."""

    def __init__(self, command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self._out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, url: str, seconds: float) -> tuple[int, str]:
        """The first answer from ``url``; fails with the command's output if it ends first."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"stoppede med {self.process.returncode}:\n{self.output()[-4000:]}")
            try:
                return get(url)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                time.sleep(0.5)
        raise AssertionError(f"intet svar fra {url} efter {seconds:.0f} s:\n{self.output()[-4000:]}")

    def stop(self) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._out.close()
        return self.process.returncode


def run(command: list[str], *, cwd: Path, env: dict[str, str],
        timeout: float = INSTALL_SECONDS) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, timeout=timeout,
                          capture_output=True, text=True)


def demo_files() -> list[str]:
    """The files the README's table says `beredskab demo --out demo-out` writes, as globs
    relative to the output folder (``cards/*.json``, ``handleplan-v1.pdf``, ...)."""
    names: list[str] = []
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `demo-out/"):
            continue
        cell = line.split("|")[1]
        previous = ""
        for token in re.findall(r"`([^`]+)`", cell):
            if token.startswith("demo-out/"):
                previous = token.removeprefix("demo-out/")
                names.append(previous)
            elif token.startswith("."):  # `demo-out/handleplan-v1.html`, `.pdf`
                names.append(previous.rsplit(".", 1)[0] + token)
    assert len(names) >= 10, f"README's demo table was not found or is short: {names}"
    return names


PYTHON = sys.executable
