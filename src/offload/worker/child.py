"""The far side of ``isolation="process"``: a warm child process that runs one task at a
time for its worker and reports back over a pipe (see isolation.py for the near side).

Messages are JSON, one per ``send_bytes``. From the worker: ``run`` (a job) and
``cancel``. To the worker: ``progress`` while the task runs, then ``done`` (its result
as JSON text) or ``error`` (the exception, described). The child ignores SIGINT and
SIGTERM: its worker decides when it ends (it kills it at a timeout, or when it stops),
and it exits by itself as soon as its worker is gone (the pipe closes).
"""

from __future__ import annotations

import importlib
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import orjson

from .. import serialization
from ..context import JobContext
from ..errors import JobCancelled, NotSerializable
from ..records import JobRecord
from ..retry import Retry


class _Link:
    """The child's end of the pipe: sends from any thread; a reader thread takes every
    message from the worker, hands runs to the main thread, and passes cancel requests
    to the task that runs."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.runs: queue.SimpleQueue[tuple[dict[str, Any], JobContext]] = queue.SimpleQueue()
        self.ctx: JobContext | None = None  # the job being run: a cancel request is for it

    def send(self, message: dict[str, Any]) -> None:
        data = orjson.dumps(message)
        with self.lock:
            self.conn.send_bytes(data)

    def read(self) -> None:
        while True:
            try:
                message = orjson.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                os._exit(0)  # the worker is gone: so is the job
            if message["op"] == "run":
                self.ctx = JobContext(JobRecord(**message["job"]), max_messages=message["max_messages"])
                self.runs.put((message, self.ctx))
            elif message["op"] == "cancel" and self.ctx is not None:
                self.ctx.request_cancel()


def serve(conn: Connection, flush_s: float) -> None:
    """The child's main loop (the target of its process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    link = _Link(conn)
    threading.Thread(target=link.read, name="offload-child-reader", daemon=True).start()
    while True:
        run(link, *link.runs.get(), flush_s)


def run(link: _Link, message: dict[str, Any], ctx: JobContext, flush_s: float) -> None:
    """One job: call the task, report progress while it runs, then how it ended."""
    done = threading.Event()
    flusher = threading.Thread(target=_flush_until, args=(link, ctx, done, flush_s), daemon=True)
    flusher.start()
    try:
        fn = resolve(message["module"], message["qualname"])
        args, kwargs = list(message["args"]), dict(message["kwargs"])
        if message["context"]:
            args.insert(0, ctx)
        if message["callback"]:
            kwargs["progress_callback"] = ctx.progress_callback
        value = fn(*args, **kwargs)
        ending: dict[str, Any] = {"op": "done", "result": serialization.dumps(value, what=message["what"])}
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the worker
        ending = {"op": "error", **describe(exc)}
    done.set()
    flusher.join()
    _flush(link, ctx)
    link.send({**ending, "saw_cancel": ctx.saw_cancel})


def resolve(module: str, qualname: str) -> Callable[..., Any]:
    """The task's function, found by its module and name (a Task object or a plain function)."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    fn = getattr(obj, "fn", obj)  # @app.task() left a Task at that name
    if not callable(fn):
        raise TypeError(f"{module}.{qualname} is not a function")
    return fn  # type: ignore[no-any-return]


def describe(exc: BaseException) -> dict[str, Any]:
    """An exception as the worker needs it: to decide the outcome, and to show it."""
    kind = type(exc)
    return {
        "type": kind.__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in kind.__mro__],
        "retry": {"delay": exc.delay, "reason": exc.reason} if isinstance(exc, Retry) else None,
        "cancelled": isinstance(exc, JobCancelled),
        "not_json": isinstance(exc, NotSerializable),
    }


def _flush_until(link: _Link, ctx: JobContext, done: threading.Event, flush_s: float) -> None:
    while not done.wait(flush_s):
        _flush(link, ctx)


def _flush(link: _Link, ctx: JobContext) -> None:
    update = ctx.take_progress()
    if update is not None:
        link.send({"op": "progress", "current": update.current, "total": update.total, "new": update.new_messages})
