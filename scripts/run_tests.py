"""The whole test suite, as `./dev test` and `.ci/run` run it: first on SQLite, then on
PostgreSQL (BEREDSKAB_TEST_POSTGRESQL_URL, default the local server's `test` database).

If PostgreSQL cannot be reached the PostgreSQL run is skipped with a warning, except with
CI=true, where that fails the run. Extra arguments go to pytest (both runs).

The browser tests (tests/browser: headless Chromium driven by Playwright) run once, in the
SQLite run; they test what a person sees, not the database. They need Debian's `chromium`
package: if /usr/bin/chromium is missing and we are root, it is installed with apt-get. If it
cannot be had, CI=true fails the run; otherwise only the browser tests are skipped, with the
reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

POSTGRESQL_URL = os.environ.get("BEREDSKAB_TEST_POSTGRESQL_URL",
                                "postgresql://postgres@127.0.0.1:5432/test")
CHROMIUM = os.environ.get("BEREDSKAB_CHROMIUM", "/usr/bin/chromium")
BROWSER_TESTS = Path(__file__).resolve().parent.parent / "tests" / "browser"
# A fresh clone's `./dev serve` and the wheel installed elsewhere: no database of the suite's.
INSTALLATION_TESTS = Path(__file__).resolve().parent.parent / "tests" / "installation"


def postgresql_reachable(url: str) -> str | None:
    """None if a connection succeeds, else the reason."""
    try:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                             connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except Exception as error:  # any failure to connect is reported the same way
        return str(error).strip()
    return None


def _apt(*args: str) -> int:
    command = ["apt-get", *args]
    print("$ " + " ".join(command), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.call(command, env=env, stdin=subprocess.DEVNULL)


def ensure_chromium() -> str | None:
    """None if Chromium is at CHROMIUM (installing Debian's package if need be), else why not."""
    if os.access(CHROMIUM, os.X_OK):
        return None
    if CHROMIUM != "/usr/bin/chromium":
        return f"BEREDSKAB_CHROMIUM={CHROMIUM} findes ikke"
    if not shutil.which("apt-get"):
        return "/usr/bin/chromium mangler, og apt-get findes ikke her"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return ("/usr/bin/chromium mangler; installér den som root: "
                "apt-get install --no-install-recommends chromium")
    print("Chromium mangler til browsertestene: installerer Debians pakke chromium.", flush=True)
    install = ("install", "-y", "-q", "--no-install-recommends", "chromium")
    if _apt(*install) != 0:
        print("Første forsøg mislykkedes; henter pakkelisterne og prøver igen.", flush=True)
        if _apt("update", "-q") != 0 or _apt(*install) != 0:
            return "apt-get kunne ikke installere chromium"
    if not os.access(CHROMIUM, os.X_OK):
        return "chromium er installeret, men /usr/bin/chromium findes ikke"
    return None


def run(label: str, database_url: str, args: list[str], **env_changes: str) -> int:
    print(f"\n=== Testsuite på {label} ===", flush=True)
    env = dict(os.environ, BEREDSKAB_TEST_DATABASE_URL=database_url, **env_changes)
    return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)


def main() -> int:
    args = sys.argv[1:] or ["-q"]
    ci = os.environ.get("CI", "").lower() == "true"
    results = {}
    missing = ensure_chromium()
    browser_env = {"BEREDSKAB_CHROMIUM": CHROMIUM}
    if missing and ci:
        print(f"Browsertestene kan ikke køre: {missing}", file=sys.stderr)
        results["Chromium"] = 1
    elif missing:
        print(f"ADVARSEL: browsertestene springes over: {missing}", file=sys.stderr)
        browser_env["BEREDSKAB_BROWSER_SKIP"] = missing
    results["SQLite"] = run("SQLite", "sqlite", args, **browser_env)
    problem = postgresql_reachable(POSTGRESQL_URL)
    if problem is None:
        # The browser and installation tests ran once, on SQLite (pytest's 5: only they were
        # asked for).
        code = run("PostgreSQL", POSTGRESQL_URL,
                   [*args, f"--ignore={BROWSER_TESTS}", f"--ignore={INSTALLATION_TESTS}"])
        results["PostgreSQL"] = 0 if code == 5 else code
    elif ci:
        print(f"PostgreSQL kan ikke nås ({POSTGRESQL_URL}): {problem}", file=sys.stderr)
        results["PostgreSQL"] = 1
    else:
        print(f"ADVARSEL: PostgreSQL kan ikke nås ({problem}); kun SQLite er testet.",
              file=sys.stderr)
    print("\n" + ", ".join(f"{k}: {'OK' if v == 0 else 'FEJL'}" for k, v in results.items()))
    return 0 if all(v == 0 for v in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
