"""Schedules: fires the schedules that are due, each fire time once however many
workers do it (see offload.schedules)."""

from __future__ import annotations

from typing import Protocol

from ...settings import Settings


class Fires(Protocol):
    def tick(self, now: float | None = None) -> int: ...


class FireSchedules:
    name = "scheduler"

    def __init__(self, schedules: Fires, settings: Settings) -> None:
        self.schedules = schedules
        self.period = settings.scheduler_s

    def run(self) -> None:
        self.schedules.tick()
