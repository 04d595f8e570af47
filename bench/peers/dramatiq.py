"""Dramatiq on Redis: its default of one process per core with 8 threads each."""

from __future__ import annotations

import sys
from pathlib import Path

import tasks_dramatiq
from peers import BasePeer

BIN = Path(sys.executable).parent


class Peer(BasePeer):
    label = "Dramatiq (Redis)"
    packages = ["dramatiq", "redis"]
    slots = {"cpu": 16, "io": 50}
    bulk_note = "no bulk enqueue"
    progress_note = "no progress API"

    def worker_cmd(self, mode: str) -> list[str]:
        procs, threads = (2, 8) if mode == "cpu" else (1, self.slots["io"])
        return [str(BIN / "dramatiq"), "tasks_dramatiq", "-p", str(procs), "-t", str(threads)]

    def enqueue(self, kind: str) -> None:
        getattr(tasks_dramatiq, kind).send()

    def close(self) -> None:
        tasks_dramatiq.broker.close()
