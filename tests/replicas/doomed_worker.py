"""A delivery worker that is killed in the middle of its batch (run by test_crash_restart).

    python -m tests.replicas.doomed_worker DATABASE_URL LOG_FILE STOP_AFTER LEASE_SECONDS [MOMENT]

It claims everything due, answers the first STOP_AFTER calls with success (writing each
recipient to LOG_FILE, as the provider would have them) and hangs in every later call, until the
test kills it with SIGKILL: its remaining rows keep their lease and nobody settles them.
MOMENT "after-answer": it also never gets to write an outcome after its receipt (the kill falls
between Microsoft's answer and the commit of the outcome).
"""
from __future__ import annotations

import asyncio
import json
import sys
import threading
import uuid
from datetime import timedelta

from handleplaner.storage import make_engine
from notifications.channels.base import DeliveryResult
from notifications.worker import DeliveryWorker


class HangingChannel:
    def __init__(self, name: str, log, budget: dict, max_batch: int):
        self.name, self.log, self.budget, self.max_batch = name, log, budget, max_batch

    async def send(self, message, recipients):
        if self.budget["left"] <= 0:
            await asyncio.Event().wait()  # the kill comes while this call is "in flight"
        self.budget["left"] -= 1
        for r in recipients:
            self.log.write(json.dumps([message.alert_id, r.person_id, self.name]) + "\n")
        self.log.flush()
        return DeliveryResult(ok=True, status_code=201, provider_message_id=uuid.uuid4().hex)


def never(_outcomes) -> None:
    threading.Event().wait()  # the outcome is never written: the kill comes first


async def main(url: str, log_file: str, stop_after: int, lease_seconds: float,
               moment: str = "between-calls") -> None:
    budget = {"left": stop_after}
    with open(log_file, "a", encoding="utf-8") as log:
        channels = {"teams": HangingChannel("teams", log, budget, 1),
                    "email": HangingChannel("email", log, budget, 50)}
        worker = DeliveryWorker(make_engine(url), channels, limits={}, link_base="http://x",
                                lease=timedelta(seconds=lease_seconds))
        if moment == "after-answer":
            worker._outcomes.write_many = never
        print("claiming", flush=True)
        await worker.run_once()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:]))
