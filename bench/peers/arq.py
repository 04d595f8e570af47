"""arq on Redis: one asyncio worker process, max_jobs=10 (its default)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from arq import create_pool

import tasks_arq
from peers import BasePeer

BIN = Path(sys.executable).parent


class Peer(BasePeer):
    label = "arq"
    packages = ["arq", "redis"]
    slots = {"cpu": 10, "io": 50}
    bulk_note = "no bulk enqueue"
    progress_note = "no progress API"

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        self.loop = asyncio.new_event_loop()
        self.pool = self.loop.run_until_complete(create_pool(tasks_arq.WorkerSettings.redis_settings))

    def close(self) -> None:
        self.loop.run_until_complete(self.pool.aclose())
        self.loop.close()

    def describe(self, mode: str) -> str:
        return f"arq tasks_arq.WorkerSettings (max_jobs={self.slots[mode]})"

    def worker_cmd(self, mode: str) -> list[str]:
        return [str(BIN / "arq"), "tasks_arq.WorkerSettings"]

    def enqueue(self, kind: str) -> None:
        self.loop.run_until_complete(self.pool.enqueue_job(kind))

    def enqueue_n(self, kind: str, n: int) -> None:
        async def go():
            for _ in range(n):
                await self.pool.enqueue_job(kind)
        self.loop.run_until_complete(go())
