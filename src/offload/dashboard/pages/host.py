"""What a page handler is given: the dashboard that serves it (core.Dashboard), as the
pages see it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ...app import App
from ...service import JobService, ScheduleService, StatsService
from ..http import Reply, Request


class Host(Protocol):
    app: App
    jobs: JobService
    schedules: ScheduleService
    stats: StatsService

    def context(self, req: Request, page: str, title: str) -> dict[str, Any]: ...

    def page(self, req: Request, template: str, live: str | None, context: dict[str, Any]) -> Reply: ...

    def error(self, req: Request, status: int, message: str) -> Reply: ...

    def cached(self, key: str, ttl: float, make: Callable[[], Any]) -> Any: ...
