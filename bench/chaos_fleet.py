"""The workers of a chaos run, and what was done to them.

Each worker is a real ``offload worker`` command in a session of its own
(tests/support/procs.py). Signals go to its whole process group, so the processes
that run jobs are hit whatever their parent is: a plain worker, or a supervisor and
its children.
"""

from __future__ import annotations

import functools
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.procs import Proc, Procs, group_members, pause_outside_a_write, pid_alive, wait_for

from offload import App


@dataclass
class Hit:
    """One signal that took processes out: a SIGKILL, or a SIGSTOP past the lease."""

    at: float  # time.time() of the signal
    pids: list[int]  # every process of the worker's group at that moment
    resumed_at: float | None = None  # SIGCONT, for a pause


@dataclass
class Fleet:
    """``size`` live workers with ``concurrency`` slots each; kills and pauses are
    recorded for the history checker (who was disturbed, when each process died,
    when each was stopped)."""

    procs: Procs
    size: int
    concurrency: int
    rng: random.Random
    sqlite_file: Path | None  # pauses on SQLite wait for a moment without a write lock
    live: list[Proc] = field(default_factory=list)
    kills: list[Hit] = field(default_factory=list)
    pauses: list[Hit] = field(default_factory=list)
    deaths: dict[int, float] = field(default_factory=dict)  # pid -> last moment it may have run
    stops: dict[int, list[float]] = field(default_factory=dict)  # pid -> moments stopped past its lease
    disturbed: set[int] = field(default_factory=set)
    exited: list[Proc] = field(default_factory=list)  # workers that ended without being killed
    paused: Proc | None = None
    _n: int = 0

    def start(self) -> None:
        while len(self.live) < self.size:
            self._n += 1
            self.live.append(self.procs.worker("--concurrency", str(self.concurrency), name=f"worker{self._n}"))

    def kill_one(self) -> Hit | None:
        """SIGKILL the process group of a random running (not paused) worker, and
        start a replacement."""
        candidates = [p for p in self.live if p is not self.paused]
        if not candidates:
            return None
        victim = self.rng.choice(candidates)
        pids = victim.signal_group(signal.SIGKILL)
        hit = Hit(victim.signalled[-1][1], pids)
        wait_for(lambda: _gone(pids) and victim.poll() is not None, 10, message="the kill")
        self.live.remove(victim)
        self.kills.append(hit)
        self.disturbed.update(pids)
        for pid in pids:
            self.deaths[pid] = hit.at
        self.start()
        return hit

    def replace_exited(self) -> None:
        """A worker that ended on its own (it should not) is noted and replaced."""
        for proc in [p for p in self.live if p is not self.paused and p.poll() is not None]:
            self.live.remove(proc)
            self.exited.append(proc)
            self.disturbed.add(proc.pid)
            self.deaths[proc.pid] = proc.death_time() or time.time()
        self.start()

    def pause_one(self, app: App) -> Hit:
        """SIGSTOP the group of a worker that is running jobs (any, if none is), until
        ``resume``."""
        victim = self._busy_worker(app)
        send = victim.signal_group
        if self.sqlite_file is not None:
            pause_outside_a_write(send, self.sqlite_file)
        else:
            send(signal.SIGSTOP)
        stopped_at = max(t for sig, t in victim.signalled if sig == signal.SIGSTOP)
        hit = Hit(stopped_at, group_members(victim.pid) or [victim.pid])
        self.paused = victim
        self.pauses.append(hit)
        self.disturbed.update(hit.pids)
        for pid in hit.pids:
            self.stops.setdefault(pid, []).append(hit.at)
        return hit

    def resume(self) -> None:
        if self.paused is None:
            return
        self.paused.signal_group(signal.SIGCONT)
        self.pauses[-1].resumed_at = time.time()
        self.paused = None

    def _busy_worker(self, app: App) -> Proc:
        running = {i.pid for i in app.backend.worker_list(alive_after=time.time() - 5) if i.running}
        busy = [p for p in self.live if p.pid in running]
        return self.rng.choice(busy or self.live)

    def stop_all(self, timeout: float = 60.0) -> None:
        """SIGTERM every live worker (a graceful stop), and note when each was gone."""
        self.resume()
        groups = {p.pid: p.signal_group(signal.SIGTERM) for p in self.live}
        for proc in self.live:
            try:
                proc.wait_exit(timeout)
            except AssertionError:
                proc.terminate_tree()
            pids = groups[proc.pid]
            wait_for(functools.partial(_gone, pids), 10, message="the stop")
            for pid in pids:
                self.deaths.setdefault(pid, time.time())
        self.live = []


def _gone(pids: list[int]) -> bool:
    return not any(pid_alive(p) for p in pids)
