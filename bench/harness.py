"""The workloads, written once against the adapter interface in peers/__init__.py.

Completions are counted from the marker file (see marker.py): every task body
appends one fixed-size timestamp record, so "count" is the file size divided by
the record size and "last completion" is the largest timestamp in it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from marker import RECORD
from peers import BasePeer, NotSupported

HERE = Path(__file__).resolve().parent


class Marks:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.clear()

    def clear(self) -> None:
        self.path.write_bytes(b"")

    def count(self) -> int:
        return os.stat(self.path).st_size // RECORD

    def values(self) -> list[float]:
        data = self.path.read_bytes()
        return [float(data[i:i + RECORD]) for i in range(0, len(data) - RECORD + 1, RECORD)]

    def at(self, index: int) -> float:
        with open(self.path, "rb") as f:
            f.seek(index * RECORD)
            return float(f.read(RECORD))


class Worker:
    """A worker subprocess in its own process group, output to a log file."""

    def __init__(self, peer: BasePeer, mode: str, log: Path) -> None:
        env = dict(os.environ, BENCH_SLOTS=str(peer.slots[mode]),
                   PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1")
        self.log = log
        self.cmd = peer.worker_cmd(mode)
        self._out = open(log, "wb")
        self.started = time.time()
        self.proc = subprocess.Popen(self.cmd, cwd=HERE, env=env, stdout=self._out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def check(self) -> None:
        if self.proc.poll() is not None:
            lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
            last = lines[-1] if lines else "(no output)"
            raise RuntimeError(f"worker exited with {self.proc.returncode}: {last} (log: {self.log})")

    def processes(self) -> list[psutil.Process]:
        p = psutil.Process(self.proc.pid)
        return [p, *p.children(recursive=True)]

    def rss(self) -> dict:
        rss = uss = 0
        procs = self.processes()
        for p in procs:
            try:
                info = p.memory_full_info()
                rss += info.rss
                uss += info.uss
            except psutil.NoSuchProcess:
                pass
        return {"rss_mb": rss / 2**20, "uss_mb": uss / 2**20, "processes": len(procs)}

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.processes():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(15)
        _signal_group(self.proc.pid, signal.SIGKILL)  # leftovers of the group, if any
        self._out.close()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_count(marks: Marks, target: int, worker: Worker, timeout: float,
               poll: float = 0.005) -> None:
    deadline = time.time() + timeout
    while marks.count() < target:
        if time.time() > deadline:
            raise TimeoutError(f"{marks.count()} of {target} jobs done after {timeout}s")
        worker.check()
        time.sleep(poll)


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


class Bench:
    def __init__(self, peer: BasePeer, marks: Marks, logdir: Path, timeout: float) -> None:
        self.peer, self.marks, self.logdir, self.timeout = peer, marks, logdir, timeout

    def _worker(self, mode: str, name: str) -> Worker:
        system = self.marks.path.stem
        return Worker(self.peer, mode, self.logdir / f"worker-{system}-{name}.log")

    def _warm(self, w: Worker) -> None:
        """Run one job so that the worker is up, connected and idle."""
        before = self.marks.count()
        self.peer.enqueue("noop")
        wait_count(self.marks, before + 1, w, 120)

    def enqueue(self, n: int) -> dict:
        t = time.perf_counter()
        self.peer.enqueue_n("noop", n)
        s = time.perf_counter() - t
        return {"seconds": s, "rate": n / s}

    def bulk(self, n: int, chunk: int = 1000) -> dict:
        if self.peer.bulk_note is not None:
            raise NotSupported(self.peer.bulk_note)
        t = time.perf_counter()
        for i in range(0, n, chunk):
            self.peer.enqueue_bulk("noop", min(chunk, n - i))
        s = time.perf_counter() - t
        return {"seconds": s, "rate": n / s, "chunk": chunk}

    def _drain(self, kind: str, mode: str, n: int) -> dict:
        self.peer.fill(kind, n)
        self.marks.clear()
        w = self._worker(mode, kind)
        try:
            wait_count(self.marks, n, w, self.timeout)
            last = max(self.marks.values())
            rss = w.rss()
        finally:
            w.stop()
        s = last - w.started
        return {"seconds": s, "rate": n / s, "rss_after_mb": rss["rss_mb"],
                "worker": " ".join(w.cmd)}

    def drain(self, n: int) -> dict:
        return self._drain("noop", "cpu", n)

    def progress(self, n: int) -> dict:
        if self.peer.progress_note is not None:
            raise NotSupported(self.peer.progress_note)
        return self._drain("progress", "cpu", n)

    def io(self, n: int) -> dict:
        return self._drain("sleep", "io", n)

    def latency(self, n: int, gap: float = 0.02) -> dict:
        w = self._worker("cpu", "latency")
        lat = []
        try:
            self._warm(w)
            for _ in range(n):
                time.sleep(gap)
                before = self.marks.count()
                t = time.time()
                self.peer.enqueue("noop")
                wait_count(self.marks, before + 1, w, 60, poll=0.0002)
                lat.append(self.marks.at(before) - t)
        finally:
            w.stop()
        ms = [x * 1000 for x in lat]
        return {"p50_ms": percentile(ms, 50), "p99_ms": percentile(ms, 99),
                "max_ms": max(ms), "samples": len(ms), "gap_s": gap}

    def memory(self, n: int, idle: float) -> dict:
        w = self._worker("cpu", "memory")
        try:
            self._warm(w)
            time.sleep(2)
            rss_idle = w.rss()
            c0, t0 = w.cpu_seconds(), time.time()
            time.sleep(idle)
            cpu = (w.cpu_seconds() - c0) / (time.time() - t0) * 100
            before = self.marks.count()
            self.peer.fill("noop", n)
            wait_count(self.marks, before + n, w, self.timeout)
            time.sleep(0.5)
            rss_after = w.rss()
        finally:
            w.stop()
        return {"rss_idle_mb": rss_idle["rss_mb"], "uss_idle_mb": rss_idle["uss_mb"],
                "rss_after_mb": rss_after["rss_mb"], "uss_after_mb": rss_after["uss_mb"],
                "processes": rss_idle["processes"], "idle_cpu_pct": cpu,
                "idle_window_s": idle, "drained": n}
