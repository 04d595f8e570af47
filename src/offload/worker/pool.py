"""Where task code runs: daemon threads for sync tasks, one event loop for async ones."""

from __future__ import annotations

import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio


class ThreadPool:
    """A set of daemon threads, ``size`` of them serving at any time. Daemon, so that a
    task stuck in C code can't keep the process alive after the worker released its job.

    A thread whose run timed out and won't return holds no slot: ``grow()`` starts a
    thread in its place, and when the stuck run does come back, its thread ends
    (``retire_current``) instead of serving on.
    """

    def __init__(self, size: int, name: str = "offload-task") -> None:
        self._q: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._name = name
        self._local = threading.local()
        self._threads: list[threading.Thread] = []
        for _ in range(size):
            self.grow()

    def _serve(self) -> None:
        local = self._local
        local.retire = False
        while (fn := self._q.get()) is not None:
            fn()
            if local.retire:
                return

    def submit(self, fn: Callable[[], None]) -> None:
        self._q.put(fn)

    def grow(self) -> None:
        """Start one more serving thread (in place of one that is stuck)."""
        t = threading.Thread(target=self._serve, name=f"{self._name}-{len(self._threads)}", daemon=True)
        self._threads.append(t)
        t.start()

    def retire_current(self) -> None:
        """The calling thread of this pool ends once its current job returns."""
        self._local.retire = True

    def shutdown(self) -> None:
        for t in self._threads:
            if t.is_alive():
                self._q.put(None)


class AsyncLoop:
    """An event loop in its own thread, for ``async def`` tasks; at most ``size`` of
    them run at once, the others wait their turn (as sync tasks wait for a thread)."""

    def __init__(self, size: int) -> None:
        import asyncio  # here: a worker without async tasks never pays for the import

        self._asyncio = asyncio
        self._slots = asyncio.Semaphore(size)
        self.loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="offload-async", daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return self._asyncio.run_coroutine_threadsafe(self._in_slot(coro), self.loop)

    async def _in_slot(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            async with self._slots:
                return await coro
        finally:
            coro.close()  # never started (cancelled while it waited): no "never awaited" warning

    def shutdown(self) -> None:
        """Cancel what still runs, stop the loop and close it."""

        asyncio = self._asyncio

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()
