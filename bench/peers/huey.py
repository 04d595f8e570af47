"""Huey with its consumer in thread mode; storage Redis, SQLite or PostgreSQL (SqlHuey)."""

from __future__ import annotations

import sys
from pathlib import Path

import tasks_huey
from peers import BasePeer

BIN = Path(sys.executable).parent
LABELS = {"redis": "Huey (Redis)", "sqlite": "Huey (SQLite)", "postgres": "Huey (PostgreSQL)"}


class Peer(BasePeer):
    slots = {"cpu": 4, "io": 50}
    bulk_note = "no bulk enqueue (task.map enqueues one by one)"
    progress_note = "no progress API"

    def __init__(self, variant: str = "") -> None:
        super().__init__(variant)
        self.label = LABELS[variant]
        self.packages = ["huey", *{"redis": ["redis"], "sqlite": [],
                                   "postgres": ["peewee", "psycopg2-binary"]}[variant]]

    def worker_cmd(self, mode: str) -> list[str]:
        return [str(BIN / "huey_consumer"), "tasks_huey.huey", "-k", "thread",
                "-w", str(self.slots[mode])]

    def enqueue(self, kind: str) -> None:
        getattr(tasks_huey, kind)()
