"""Celery on Redis: prefork pool with one process per core; threads for I/O."""

from __future__ import annotations

import sys
from pathlib import Path

import tasks_celery
from peers import BasePeer

BIN = Path(sys.executable).parent


class Peer(BasePeer):
    label = "Celery (Redis)"
    packages = ["celery", "kombu", "redis"]
    slots = {"cpu": 2, "io": 50}
    bulk_note = "no bulk enqueue (a group publishes one message per task)"

    def worker_cmd(self, mode: str) -> list[str]:
        pool = "prefork" if mode == "cpu" else "threads"
        return [str(BIN / "celery"), "-A", "tasks_celery", "worker", "-P", pool,
                "-c", str(self.slots[mode]), "-l", "warning",
                "--without-gossip", "--without-mingle"]

    def enqueue(self, kind: str) -> None:
        getattr(tasks_celery, kind).delay()

    def close(self) -> None:
        tasks_celery.app.close()
