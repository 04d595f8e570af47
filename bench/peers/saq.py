"""SAQ on Redis: one worker process, concurrency=10 (its default)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import tasks_saq
from peers import BasePeer

BIN = Path(sys.executable).parent


class Peer(BasePeer):
    label = "SAQ (Redis)"
    packages = ["saq", "redis"]
    slots = {"cpu": 10, "io": 50}
    bulk_note = "no bulk enqueue"

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        self.loop = asyncio.new_event_loop()
        self.queue = tasks_saq.queue
        self.loop.run_until_complete(self.queue.connect())

    def close(self) -> None:
        self.loop.run_until_complete(self.queue.disconnect())
        self.loop.close()

    def describe(self, mode: str) -> str:
        return f"saq tasks_saq.settings (concurrency={self.slots[mode]})"

    def worker_cmd(self, mode: str) -> list[str]:
        return [str(BIN / "saq"), "tasks_saq.settings"]

    def enqueue(self, kind: str) -> None:
        self.loop.run_until_complete(self.queue.enqueue(kind))

    def enqueue_n(self, kind: str, n: int) -> None:
        async def go():
            for _ in range(n):
                await self.queue.enqueue(kind)
        self.loop.run_until_complete(go())
