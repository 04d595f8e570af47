"""offload on SQLite or PostgreSQL, with its own worker CLI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from peers import BasePeer, NotSupported

BIN = Path(sys.executable).parent


def _url(variant: str) -> str:
    if variant == "sqlite":
        return "sqlite:///" + os.environ["BENCH_SQLITE_PATH"]
    return os.environ["BENCH_PG_DSN"]


class Peer(BasePeer):
    packages = ["offload"]
    slots = {"cpu": 4, "io": 50}

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        # Set before the import: the worker subprocess inherits it as well.
        os.environ["OFFLOAD_URL"] = _url(variant)
        import tasks_offload

        self.tasks = tasks_offload
        self.label = "offload (SQLite)" if variant == "sqlite" else "offload (PostgreSQL)"
        if not hasattr(tasks_offload.noop, "enqueue_many"):
            self.bulk_note = "enqueue_many not available in this version"

    def close(self) -> None:
        close = getattr(self.tasks.app, "close", None)
        if callable(close):
            close()

    def worker_cmd(self, mode: str) -> list[str]:
        return [str(BIN / "offload"), "worker", "--app", "tasks_offload:app",
                "--queues", "default", "--concurrency", str(self.slots[mode])]

    def enqueue(self, kind: str) -> None:
        getattr(self.tasks, kind).enqueue()

    def enqueue_bulk(self, kind: str, n: int) -> None:
        task = getattr(self.tasks, kind)
        if not hasattr(task, "enqueue_many"):
            raise NotSupported(self.bulk_note)
        task.enqueue_many([((), {}) for _ in range(n)])
