"""The README's first command on a fresh machine, exactly as a newcomer runs it: `git clone` into
an empty folder, then `./dev serve` there. Nothing of the clone's working tree exists beforehand:
no `.venv` (./dev makes it and installs the project from constraints.txt) and no `var/` (the
service makes it before the first migration). The README's second command, `./dev test`, is what
`.ci/run` runs in a fresh clone of its own, so CI itself shows that one."""
from __future__ import annotations

from .newcomer import (INSTALL_SECONDS, Background, clean_environment, clone, free_port, get)


def test_dev_serve_on_a_fresh_clone_answers_the_sign_in_page_and_health(tmp_path):
    repository = clone(tmp_path / "tom-mappe")
    assert not (repository / ".venv").exists() and not (repository / "var").exists()
    port, emulator_port = free_port(), free_port()
    server = Background(["./dev", "serve", "--port", str(port), "--emulator-port", str(emulator_port)],
                        cwd=repository, env=clean_environment(), log=tmp_path / "dev-serve.log")
    try:
        status, health = server.wait_for(f"http://127.0.0.1:{port}/healthz", INSTALL_SECONDS)
        assert status == 200 and '"ok"' in health
        status, page = get(f"http://127.0.0.1:{port}/log-ind")
        assert status == 200
        assert "<h1>Log ind</h1>" in page and "<option" in page  # the demo organisation's people
        status, emulator = get(f"http://127.0.0.1:{emulator_port}/")
        assert status == 200
    finally:
        stopped = server.stop()
    assert stopped == 0, server.output()[-4000:]
    assert (repository / "var" / "beredskab.db").is_file()
    assert "Traceback" not in server.output()
