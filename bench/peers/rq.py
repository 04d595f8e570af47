"""RQ on Redis: one SimpleWorker (runs jobs in the worker process, no fork per job)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from redis import Redis
from rq import Queue

import tasks_rq
from peers import BasePeer

BIN = Path(sys.executable).parent


class Peer(BasePeer):
    label = "RQ"
    packages = ["rq", "redis"]
    slots = {"cpu": 1, "io": 50}

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        self.url = os.environ["BENCH_REDIS_URL"]
        self.redis = Redis.from_url(self.url)
        self.queue = Queue("default", connection=self.redis)

    def close(self) -> None:
        self.redis.close()

    def worker_cmd(self, mode: str) -> list[str]:
        common = ["-w", "rq.worker.SimpleWorker", "-u", self.url, "default"]
        if mode == "io":  # RQ runs one job at a time per process: 50 processes
            return [str(BIN / "rq"), "worker-pool", "-n", str(self.slots["io"]), *common]
        return [str(BIN / "rq"), "worker", *common]

    def enqueue(self, kind: str) -> None:
        self.queue.enqueue(getattr(tasks_rq, kind))

    def enqueue_bulk(self, kind: str, n: int) -> None:
        f = getattr(tasks_rq, kind)
        self.queue.enqueue_many([Queue.prepare_data(f) for _ in range(n)])
