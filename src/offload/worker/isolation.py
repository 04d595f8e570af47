"""``@app.task(isolation="process")``: the task runs in a child process of its own, which
the worker kills at the job's timeout, so neither runaway code nor runaway memory can
take the worker down.

Children are started with ``spawn`` (a fresh interpreter: no store connection, lock or
thread of the worker crosses into them), kept warm and reused job after job; one that
was killed, or died, is replaced at once. The worker's side of a run is a pool thread
that sends the job, takes in progress as it comes, forwards a cancel request, and
returns the result or raises what the task raised (see child.py for the other side).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from typing import TYPE_CHECKING, Any

import orjson

from .. import serialization
from ..errors import IsolatedTaskError, JobCancelled
from ..retry import Retry
from . import child
from .executor import Run, plain_arguments

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

POLL_S = 0.05  # how often a waiting run looks for a cancel request or its timeout


class TaskProcess:
    """One warm child process and the worker's end of its pipe."""

    def __init__(self, ctx: Any, flush_s: float) -> None:
        conn, far_end = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(
            target=child.serve, args=(far_end, flush_s), name="offload-isolated", daemon=True
        )
        self.process.start()
        far_end.close()
        self.conn: Connection = conn
        self.usable = True

    def close(self) -> None:
        """Kill the child (if it still runs) and reap it."""
        self.usable = False
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def call(self, run: Run, max_messages: int) -> Any:
        """Run ``run`` in the child; its result, or the exception the task raised."""
        try:
            self.conn.send_bytes(orjson.dumps(_run_message(run, max_messages)))
        except OSError:
            raise self._died() from None
        forwarded = False
        while True:
            if run.abandoned:  # timed out (or the worker stopped): a hard stop
                self.close()
                raise JobCancelled(run.record.id)
            if not forwarded and run.ctx.stop_requested:
                self._send({"op": "cancel"})
                forwarded = True
            try:
                if not self.conn.poll(POLL_S):
                    continue
                message = orjson.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                raise self._died() from None
            if message["op"] == "progress":
                run.ctx.absorb(message["current"], message["total"], message["new"])
                continue
            run.ctx.saw_cancel = run.ctx.saw_cancel or message["saw_cancel"]
            if message["op"] == "done":
                return serialization.loads(message["result"])
            raise _rebuilt(run, message)

    def _send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):  # a child that is gone shows as EOF next
            self.conn.send_bytes(orjson.dumps(message))

    def _died(self) -> IsolatedTaskError:
        self.usable = False
        self.process.join(5)
        return IsolatedTaskError(f"the task's process died (exit code {self.process.exitcode})")


class ProcessPool:
    """Warm children for the isolated runs of one worker: at most ``size`` kept idle."""

    def __init__(self, size: int, flush_s: float, max_messages: int) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._size = size
        self._flush_s = flush_s
        self._max_messages = max_messages
        self._idle: list[TaskProcess] = []
        self._busy: set[TaskProcess] = set()
        self._lock = threading.Lock()
        self._closed = False

    def warm(self) -> None:
        """Start one child ahead of the first isolated job."""
        with self._lock:
            if not self._closed and not self._idle and not self._busy:
                self._idle.append(TaskProcess(self._ctx, self._flush_s))

    def run(self, run: Run) -> Any:
        proc = self._take()
        try:
            return proc.call(run, self._max_messages)
        finally:
            self._put_back(proc)

    def _take(self) -> TaskProcess:
        with self._lock:
            while self._idle:
                proc = self._idle.pop()
                if proc.process.is_alive():
                    self._busy.add(proc)
                    return proc
                proc.close()
            proc = TaskProcess(self._ctx, self._flush_s)
            self._busy.add(proc)
            return proc

    def _put_back(self, proc: TaskProcess) -> None:
        with self._lock:
            self._busy.discard(proc)
            if proc.usable and not self._closed and len(self._idle) < self._size:
                self._idle.append(proc)
                return
        proc.close()
        with self._lock:  # a killed child is replaced at once, so the next job finds one warm
            if not self._closed and not self._idle:
                self._idle.append(TaskProcess(self._ctx, self._flush_s))

    def shutdown(self) -> None:
        """Kill every child: the jobs still running in one were given back already."""
        with self._lock:
            self._closed = True
            procs = [*self._idle, *self._busy]
            self._idle.clear()
        for proc in procs:
            proc.close()


def _run_message(run: Run, max_messages: int) -> dict[str, Any]:
    assert run.task is not None
    rec, fn = run.record, run.task.fn
    args, kwargs = plain_arguments(run)
    job = {
        "id": rec.id,
        "task": rec.task,
        "queue": rec.queue,
        "status": str(rec.status),
        "priority": rec.priority,
        "owner": rec.owner,
        "args": args,
        "kwargs": kwargs,
        "attempts": rec.attempts,
        "max_attempts": rec.max_attempts,
        "created_at": rec.created_at,
        "run_at": rec.run_at,
        "lease_token": run.ctx.token,
        "progress_current": rec.progress_current,
        "progress_total": rec.progress_total,
        "message": rec.message,
        "messages": rec.messages,
    }
    return {
        "op": "run",
        "module": fn.__module__,
        "qualname": fn.__qualname__,
        "job": job,
        "max_messages": max_messages,
        "args": args,
        "kwargs": kwargs,
        "context": run.task.wants_context,
        "callback": run.task.wants_callback,
        "what": f"result of task {rec.task!r}",
    }


def _rebuilt(run: Run, message: dict[str, Any]) -> BaseException:
    """The exception to treat the run's ending as (see executor.Outcomes.failed)."""
    if message["retry"] is not None:
        return Retry(delay=message["retry"]["delay"], reason=message["retry"]["reason"])
    if message["cancelled"]:
        return JobCancelled(run.record.id)
    if message["not_json"]:
        return IsolatedTaskError(message["message"], final=True)
    return IsolatedTaskError(
        f"{message['type']}: {message['message']}", traceback=message["traceback"], mro=message["mro"]
    )
