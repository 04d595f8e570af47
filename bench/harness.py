"""The workloads, written once against the adapter interface in peers/__init__.py.

Completions are counted from the marker file (see marker.py): every task body
appends one fixed-size timestamp record, so "count" is the file size divided by
the record size and "last completion" is the largest timestamp in it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
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

    def __init__(self, peer: BasePeer, mode: str, log: Path, cmd: list[str] | None = None) -> None:
        env = dict(os.environ, BENCH_SLOTS=str(peer.slots[mode]),
                   PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1")
        self.log = log
        self.cmd = cmd or peer.worker_cmd(mode)
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, proc: Worker, timeout: float, path: str = "/api/health") -> None:
    deadline = time.time() + timeout
    while True:
        proc.check()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status == 200:
                c.close()
                return
            c.close()
        except OSError:
            pass
        if time.time() > deadline:
            raise TimeoutError(f"no 200 from 127.0.0.1:{port}{path} after {timeout}s")
        time.sleep(0.1)


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
            marks = self.marks.values()
            rss = w.rss()
        finally:
            w.stop()
        first, last = min(marks), max(marks)
        s = last - w.started
        # rate counts from the worker command's start (start-up included); steady_rate
        # from the first completion to the last, so runs of different N compare
        return {"seconds": s, "rate": n / s, "first_s": first - w.started,
                "steady_rate": (n - 1) / (last - first) if last > first else None,
                "rss_after_mb": rss["rss_mb"], "worker": " ".join(w.cmd)}

    def drain(self, n: int) -> dict:
        return self._drain("noop", "cpu", n)

    def progress(self, n: int) -> dict:
        """The progress drain, then a plain no-op drain of the same N on the same store:
        with as few as 1,000 jobs the first turns weigh more, so only the same N compares.
        The plain drain goes second, on a warm store, so the ratio errs against progress."""
        if self.peer.progress_note is not None:
            raise NotSupported(self.peer.progress_note)
        out = self._drain("progress", "cpu", n)
        plain = self._drain("noop", "cpu", n)
        out["plain_steady_rate"] = plain["steady_rate"]
        if out["steady_rate"] and plain["steady_rate"]:
            out["slowdown"] = plain["steady_rate"] / out["steady_rate"]
        return out

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

    # -- offload-only workloads: the other systems raise NotSupported at once ------------

    def _serve(self, ids: list[str], name: str, runs: list[dict]) -> list[dict]:
        """Start one API server process, then the load generator once per entry of
        `runs` (loadgen options: seconds, procs, conns, rate) against it, on random ids
        of `ids`; `runs[i]["before"]`, if given, is called with the server up, right
        before that run. Returns the load generator's answers."""
        port = free_port()
        server_cmd = self.peer.api_server_cmd(port)
        token = self.peer.api_token()
        system = self.marks.path.stem
        id_file = self.logdir / f"{name}-ids-{system}.txt"
        id_file.write_text("\n".join(ids) + "\n")
        server = Worker(self.peer, "cpu", self.logdir / f"server-{system}-{name}.log", cmd=server_cmd)
        answers = []
        try:
            wait_http(port, server, 60)
            for run in runs:
                if run.get("before") is not None:
                    run["before"]()
                cmd = [sys.executable, str(HERE / "loadgen.py"), "--port", str(port), "--token", token,
                       "--ids", str(id_file), "--procs", str(run["procs"]), "--conns", str(run["conns"]),
                       "--seconds", str(run["seconds"]), "--warmup", "1", "--max-requests", "2000000",
                       "--rate", str(run.get("rate", 0))]
                p = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=run["seconds"] + 120)
                server.check()
                if p.returncode != 0 or not p.stdout.strip():
                    raise RuntimeError(f"load generator exited {p.returncode}: {p.stderr[-1500:]}")
                r = json.loads(p.stdout.strip().splitlines()[-1])
                if not r["ok"]:
                    raise RuntimeError(f"no 200 answers: statuses {r['statuses']}, "
                                       f"{r['conn_errors']} connection errors")
                r["loadgen"] = " ".join(w if w != token else "$TOKEN" for w in cmd[1:])
                r["server"] = " ".join(server.cmd)
                answers.append(r)
        finally:
            server.stop()
            id_file.unlink(missing_ok=True)
        return answers

    def api(self, n: int, seconds: float = 10.0, procs: int = 2, conns: int = 8) -> dict:
        """Status GETs per second of one API server process while a worker drains n jobs."""
        ids = self.peer.fill_ids("noop", n)
        self.marks.clear()
        workers: list[Worker] = []
        done_before = 0

        def start_worker() -> None:
            nonlocal done_before
            workers.append(self._worker("cpu", "api"))
            done_before = self.marks.count()

        try:
            (r,) = self._serve(ids, "api", [{"seconds": seconds, "procs": procs, "conns": conns,
                                              "before": start_worker}])
            done_during = self.marks.count() - done_before
            for w in workers:
                w.check()
        finally:
            for w in workers:
                w.stop()
        return {"rate": r["rate"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "max_ms": r["max_ms"],
                "requests": r["ok"], "seconds": r["seconds"], "non_200": r["non_200"],
                "conn_errors": r["conn_errors"], "connections": procs * conns,
                "jobs_queued": n, "jobs_done_during": done_during,
                "server": r["server"], "worker": " ".join(workers[0].cmd) if workers else None,
                "loadgen": r["loadgen"]}

    def _scale_http(self, store, out: dict, rate: float, seconds: float) -> None:  # noqa: ANN001
        """Status GETs over HTTP against the big store: the closed-loop rate, then the
        latency at a fixed `rate` (open loop, every request timed from when it was due)."""
        ids = store.sample_ids(20_000)
        closed, fixed = self._serve(ids, "scale", [
            {"seconds": seconds / 2, "procs": 2, "conns": 8},
            {"seconds": seconds, "procs": 2, "conns": 8, "rate": rate},
        ])
        out.update(http_rate=closed["rate"], http_p99_ms=closed["p99_ms"],
                   http_fixed_rate=rate, http_fixed_achieved=fixed["rate"],
                   http_fixed_p50_ms=fixed["p50_ms"], http_fixed_p99_ms=fixed["p99_ms"],
                   http_fixed_max_ms=fixed["max_ms"], http_non_200=closed["non_200"] + fixed["non_200"],
                   http_loadgen=fixed["loadgen"])

    def scale(self, n: int, batch: int = 10_000, left: int = 10_000, lookups: int = 2_000,
              lists: int = 200, span_days: float = 30.0, keep: int = 10_000,
              older_than_days: float = 7.0, http_rate: float = 2_000.0, http_seconds: float = 10.0) -> dict:
        """A store holding n jobs: bulk enqueue, then lookups, listing, claiming, the
        size on disk, and pruning down to the newest `keep` completed jobs."""
        store = self.peer.scale_store()
        left = min(left, max(1, n // 5))
        # Retention is the worker's too (it prunes at start): keep it off during the claim,
        # the timed prune below is the measurement of it.
        os.environ["OFFLOAD_KEEP_COMPLETED_S"] = str(100 * 365 * 86400.0)
        os.environ["OFFLOAD_KEEP_COMPLETED"] = str(10**12)
        out: dict = {"jobs": n, "batch": batch}

        t = time.perf_counter()
        for i in range(0, n, batch):
            self.peer.enqueue_bulk("noop", min(batch, n - i))
        out["enqueue_s"] = time.perf_counter() - t
        out["enqueue_rate"] = n / out["enqueue_s"]

        t = time.perf_counter()  # set-up, not a measurement of offload
        out["completed"] = store.finish_all_but(left, span_days * 86400)
        out["queued"] = n - out["completed"]
        out["setup_s"] = time.perf_counter() - t

        def timed(calls: list) -> list[float]:
            ms = []
            for fn in calls:
                s = time.perf_counter()
                fn()
                ms.append((time.perf_counter() - s) * 1000)
            return ms

        ids = store.sample_ids(lookups)
        ms = timed([lambda i=i: store.get_job(i) for i in ids])
        out.update(lookup_p50_ms=percentile(ms, 50), lookup_p99_ms=percentile(ms, 99), lookups=len(ms))

        def page(**kw) -> None:  # noqa: ANN003
            if not store.list_jobs(status="completed", task="noop", limit=20, **kw):
                raise RuntimeError(f"empty page of completed jobs ({kw})")

        ms = timed([page] * lists)
        out.update(list_p50_ms=percentile(ms, 50), list_p99_ms=percentile(ms, 99), lists=len(ms))
        cursors = store.sample_ids(lists, status="completed")
        cursors = [c for c in cursors if c != min(cursors)]  # the oldest job has no page before it
        ms = timed([lambda c=c: page(before=c) for c in cursors])
        out.update(list_cursor_p50_ms=percentile(ms, 50), list_cursor_p99_ms=percentile(ms, 99))
        self._scale_http(store, out, http_rate, http_seconds)

        self.marks.clear()
        system = self.marks.path.stem
        w = Worker(self.peer, "cpu", self.logdir / f"worker-{system}-scale.log",
                   cmd=[*self.peer.worker_cmd("cpu"), "--burst"])
        try:
            rc = w.proc.wait(self.timeout)
            exited = time.time()
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"burst worker still running after {self.timeout}s "
                               f"({self.marks.count()} of {left} done)") from None
        finally:
            w.stop()
        if rc != 0 or self.marks.count() != out["queued"]:
            raise RuntimeError(f"burst worker exited {rc} after {self.marks.count()} of {out['queued']} jobs "
                               f"(log: {w.log})")
        last = max(self.marks.values())
        out.update(claim_s=last - w.started, claim_rate=out["queued"] / (last - w.started),
                   claim_exit_s=exited - w.started, worker=" ".join(w.cmd))

        out["size_mb"] = store.size_bytes() / 2**20
        t = time.perf_counter()
        out["pruned"] = store.prune(older_than_s=older_than_days * 86400, keep=keep)
        out["prune_s"] = time.perf_counter() - t
        out["completed_left"] = store.count("completed")
        out["size_after_prune_mb"] = store.size_bytes() / 2**20
        t = time.perf_counter()
        out["compaction"] = store.compact()
        out["compact_s"] = time.perf_counter() - t
        out["size_after_compact_mb"] = store.size_bytes() / 2**20
        out["prune_rule"] = (f"completed: ended more than {older_than_days:g} days ago, "
                             f"or beyond the newest {keep:,}")
        return out
