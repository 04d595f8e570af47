"""Procrastinate on PostgreSQL: one worker process, concurrency=10, LISTEN/NOTIFY on."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import tasks_procrastinate
from peers import BasePeer

BIN = Path(sys.executable).parent


class Peer(BasePeer):
    label = "Procrastinate (PostgreSQL)"
    packages = ["procrastinate", "psycopg"]
    slots = {"cpu": 10, "io": 50}
    progress_note = "no progress API"

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        self.app = tasks_procrastinate.app
        self.loop = asyncio.new_event_loop()

        async def open_app():
            await self.app.open_async()
        self.loop.run_until_complete(open_app())

    def setup(self) -> None:
        self.loop.run_until_complete(self.app.schema_manager.apply_schema_async())

    def close(self) -> None:
        self.loop.run_until_complete(self.app.close_async())
        self.loop.close()

    def worker_cmd(self, mode: str) -> list[str]:
        return [str(BIN / "procrastinate"), "--app", "tasks_procrastinate.app", "worker",
                "--queues", "default", "--concurrency", str(self.slots[mode])]

    def enqueue(self, kind: str) -> None:
        self.loop.run_until_complete(getattr(tasks_procrastinate, kind).defer_async())

    def enqueue_n(self, kind: str, n: int) -> None:
        task = getattr(tasks_procrastinate, kind)

        async def go():
            for _ in range(n):
                await task.defer_async()
        self.loop.run_until_complete(go())

    def enqueue_bulk(self, kind: str, n: int) -> None:
        task = getattr(tasks_procrastinate, kind)
        self.loop.run_until_complete(task.batch_defer_async(*({} for _ in range(n))))
