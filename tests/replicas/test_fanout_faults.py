"""The whole demo organisation (408 people) alerted while the emulator plays a faulty network:
5 % of the calls that change something take effect and lose their answer, another 15 % are
refused before taking effect (5xx, 429). Every person gets the alert once per channel, counted
from what the emulator received (the cards in each person's chat, the mails in each mailbox),
not from the service's own bookkeeping. The same run as ``bench/fanout.py --faults``."""
from __future__ import annotations

import importlib.util
import sys
from argparse import Namespace
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fanout.py"


def fanout_bench():
    spec = importlib.util.spec_from_file_location("bench_fanout", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_fanout", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(TEST_DATABASE_URL.startswith("postgres"),
                    reason="the run brings its own SQLite database; the SQLite pass runs it")
async def test_every_person_gets_the_alert_once_per_channel_though_answers_are_lost(tmp_path):
    bench = fanout_bench()
    result = await bench.run(Namespace(
        out=str(tmp_path), conversations="installed", postgres=None, latency_ms=(50, 150),
        seed=7, timeout=240.0, faults=True))

    assert not result["timed_out"]
    assert result["recipients"] == 408
    assert result["by_channel"] == {
        "teams": {"recipients": 345, "lost": 0, "duplicated": 0},
        "email": {"recipients": 408, "lost": 0, "duplicated": 0},
    }
    assert result["failed"] == 0
    played = result["faults_played"]
    # The faults did happen: answers lost after the card was posted, refusals before.
    assert played.get("lost teams:post", 0) >= 3
    assert played.get("error teams:post", 0) and played.get("throttle teams:post", 0)
    # Each lost answer was read back (found in the chat), not taken for a failure.
    assert result["attempt_outcomes"].get("ukendt", 0) >= played["lost teams:post"]
    line = bench.report(result)[-1]
    assert line.startswith("fanout recipients=408 ") and line.endswith(
        "faults=on lost=0 duplicated=0")
