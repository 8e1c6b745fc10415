"""The whole test suite, as `./dev test` and `.ci/run` run it: first on SQLite, then on
PostgreSQL (BEREDSKAB_TEST_POSTGRESQL_URL, default the local server's `test` database).

If PostgreSQL cannot be reached the PostgreSQL run is skipped with a warning, except with
CI=true, where that fails the run. Extra arguments go to pytest (both runs).
"""
from __future__ import annotations

import os
import subprocess
import sys

POSTGRESQL_URL = os.environ.get("BEREDSKAB_TEST_POSTGRESQL_URL",
                                "postgresql://postgres@127.0.0.1:5432/test")


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


def run(label: str, database_url: str, args: list[str]) -> int:
    print(f"\n=== Testsuite på {label} ===", flush=True)
    env = dict(os.environ, BEREDSKAB_TEST_DATABASE_URL=database_url)
    return subprocess.call([sys.executable, "-m", "pytest", *args], env=env)


def main() -> int:
    args = sys.argv[1:] or ["-q"]
    ci = os.environ.get("CI", "").lower() == "true"
    results = {"SQLite": run("SQLite", "sqlite", args)}
    problem = postgresql_reachable(POSTGRESQL_URL)
    if problem is None:
        results["PostgreSQL"] = run("PostgreSQL", POSTGRESQL_URL, args)
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
