"""``GET /api/health`` within a bounded time, whatever the store does.

Two probes run side by side, each in a daemon thread of its own: the read probe
(``JobService.health``: the store answers, the live workers) and the write probe
(``Backend.ping_write``: a committed write that changes nothing). The answer waits for
them at most ``budget`` seconds; a probe still running then counts as failed:

* reads failed or too slow: 503 ``unavailable`` (as before, the store is unreachable);
* reads work, the write failed or is too slow: 503 ``degraded``, with the reason
  (a full disk, a read-only server, a write lock held by someone else);
* both answered: 200 ``ok``.

A probe that hangs (a server that doesn't answer, a connection pool waiting out its
timeout) is not started again while it runs: later checks wait for the same one. A
result younger than FRESH_S is reused, so a flood of health checks costs the store at
most one probe of each kind a second. Nothing is remembered beyond that: once the store
is back, the next probe says so.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

FRESH_S = 1.0


class Probe:
    """One call of ``fn`` at a time, in a daemon thread (a hung call never holds up the
    process's exit); a finished result younger than FRESH_S is reused."""

    def __init__(self, fn: Callable[[], Any], name: str) -> None:
        self.fn = fn
        self.name = name
        self.future: Future[Any] | None = None
        self.finished = 0.0
        self.lock = threading.Lock()

    def start(self) -> Future[Any]:
        with self.lock:
            future = self.future
            if future is None or (future.done() and time.monotonic() - self.finished >= FRESH_S):
                future = self.future = Future()
                threading.Thread(target=self._run, args=(future,), name=self.name, daemon=True).start()
            return future

    def _run(self, future: Future[Any]) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            self.finished = time.monotonic()
            future.set_exception(exc)
        else:
            self.finished = time.monotonic()
            future.set_result(result)


class HealthCheck:
    """``reads``: JobService.health; ``write``: the store's ping_write."""

    def __init__(
        self,
        reads: Callable[[], tuple[bool, dict[str, Any]]],
        write: Callable[[], None],
        engine: str,
        budget: float,
    ) -> None:
        self.engine = engine
        self.budget = budget
        self.reads = Probe(reads, "offload-health-reads")
        self.writes = Probe(write, "offload-health-writes")

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, body) within ``budget`` seconds."""
        reads, writes = self.reads.start(), self.writes.start()
        await asyncio.wait([asyncio.wrap_future(reads), asyncio.wrap_future(writes)], timeout=self.budget)
        ok, body = self._reads_verdict(reads)
        if not ok:
            body["backend"].setdefault("writable", False)
            return False, body
        problem = self._failure(writes, "a write")
        body["backend"]["writable"] = problem is None
        if problem is None:
            return True, body
        body["status"] = "degraded"
        body["backend"]["error"] = problem
        return False, body

    def _reads_verdict(self, reads: Future[Any]) -> tuple[bool, dict[str, Any]]:
        problem = self._failure(reads, "the store")
        if problem is not None:
            return False, {"status": "unavailable", "backend": {"engine": self.engine, "ok": False, "error": problem}}
        ok, body = reads.result()
        return bool(ok), dict(body, backend=dict(body["backend"]))

    def _failure(self, future: Future[Any], what: str) -> str | None:
        """Why a probe failed, or None when it succeeded."""
        if not future.done():
            return f"{what} did not answer within {self.budget:g}s"
        exc = future.exception()
        return None if exc is None else str(exc) or type(exc).__name__
