"""The dashboard's figures (not part of run.sh: it needs Chromium):

1. **Pages on a big store.** A SQLite store with N jobs (1,000,000 by default), built as
   the ``scale`` workload builds it: N no-op jobs through ``enqueue_many``, then all but
   the newest 10,000 made ``completed`` in SQL, their completion times spread over the
   30 days before now, their events deleted. One ``offload serve`` (no worker) answers a
   signed-in client's sequential requests: the jobs page (first page; a state filter; a
   task filter; a page deep in the history by cursor), a job's page (random ids of any
   state), the overview. p50 and p99 of each, in ms: the server's time plus one loopback
   round trip.
2. **Progress to the browser.** An ``offload worker`` runs a job that calls
   ``set_progress(i, 100)`` for i = 1..100, 0.35 s apart, noting the time of each call;
   Chromium shows the job's page, and a MutationObserver notes when each value reached
   the progress bar's ``aria-valuenow``. The delay of each update, p50 and p99, in ms,
   with the default settings (progress written every 0.2 s, the event hub reading every
   0.1 s), on the same big store.

    python bench/dashboard.py [--jobs 1000000] [--requests 200] [--updates 100] [--store PATH]

The working tree's src/ is used (``PYTHONPATH``). Results are printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
TASKS = "bench.tasks_dashboard:app"
SEEN = """(() => {
  // Every value the bar's aria-valuenow took, when the page set it. The page may
  // re-render its live part (a new bar element), so the whole page is watched; values
  // set in one go reach one callback, in order (each record holds the value before).
  window.__seen = [];
  const bar = () => document.querySelector('[role="progressbar"]');
  let last = bar().getAttribute("aria-valuenow");
  new MutationObserver((records) => {
    const at = performance.timeOrigin + performance.now();
    const before = records.filter((r) => r.type === "attributes" && r.target === bar()).map((r) => r.oldValue);
    const now = bar().getAttribute("aria-valuenow");
    for (const value of [...before.slice(1), now]) {
      if (value !== last) window.__seen.push([Number(value), at]);
      last = value;
    }
  }).observe(document.body, {attributes: true, attributeOldValue: true, attributeFilter: ["aria-valuenow"],
                             childList: true, subtree: true});
})()"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build(path: Path, n: int) -> None:
    """N jobs, all but the newest 10,000 completed over the last 30 days (as `scale`)."""
    from bench.tasks_dashboard import noop

    t0 = time.perf_counter()
    for start in range(0, n, 10_000):
        noop.enqueue_many([((), {}) for _ in range(min(10_000, n - start))])
    con = sqlite3.connect(path, timeout=120, isolation_level=None)
    done = max(0, n - 10_000)
    span = 30 * 86400.0
    end = time.time() - 60
    params = {"done": done, "t0": end - span, "step": span / max(done, 1)}
    con.execute("BEGIN IMMEDIATE")
    con.execute(
        """WITH r AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM jobs)
           UPDATE jobs SET status = 'completed', attempts = 1, result = 'null',
               created_at = :t0 + r.rn * :step - 0.02, run_at = :t0 + r.rn * :step - 0.02,
               started_at = :t0 + r.rn * :step - 0.01, completed_at = :t0 + r.rn * :step
           FROM r WHERE jobs.id = r.id AND r.rn <= :done""",
        params,
    )
    con.execute("DELETE FROM events WHERE job_id IN (SELECT id FROM jobs WHERE status = 'completed')")
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(f"built {n:,} jobs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


def start(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [sys.executable, "-m", "offload", "serve", "--app", TASKS, "--port", str(port), "--poll-rate", "0"]
    proc = start(argv, env, cwd)
    base = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("offload serve did not come up")


def signed_in(base: str, token: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    form = c.get("/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    r = c.post("/sign-in", data={"csrf": csrf.group(1), "token": token, "next": "/"})
    assert r.status_code == 303, r.text
    return c


def timed(c: httpx.Client, paths: list[str]) -> tuple[float, float]:
    took = []
    for path in paths:
        t = time.perf_counter()
        r = c.get(path)
        took.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return pct(took, 0.5), pct(took, 0.99)


def pages(store: Path, env: dict[str, str], token: str, requests: int) -> list[tuple[str, float, float]]:
    con = sqlite3.connect(store)
    ids = [r[0] for r in con.execute("SELECT id FROM jobs ORDER BY random() LIMIT ?", (requests,))]
    deep = [r[0] for r in con.execute("SELECT id FROM jobs WHERE status = 'completed' ORDER BY random() LIMIT ?",
                                      (requests,))]  # fmt: skip
    con.close()
    proc, base = serve(env, store.parent)
    try:
        c = signed_in(base, token)
        for path in ("/jobs", f"/jobs/{ids[0]}", "/"):  # warm up
            c.get(path)
        return [
            ("jobs page, newest 20", *timed(c, ["/jobs"] * requests)),
            ("jobs page, state = completed", *timed(c, ["/jobs?status=completed"] * requests)),
            ("jobs page, task = noop", *timed(c, ["/jobs?task=noop"] * requests)),
            ("jobs page deep in the history (cursor)", *timed(c, [f"/jobs?cursor={i}" for i in deep])),
            ("job page, random ids", *timed(c, [f"/jobs/{i}" for i in ids])),
            ("overview (counts of every job)", *timed(c, ["/"] * max(20, requests // 10))),
        ]
    finally:
        proc.terminate()
        proc.wait(10)


def progress_delay(workdir: Path, env: dict[str, str], token: str, updates: int) -> tuple[float, float, int]:
    from playwright.sync_api import sync_playwright

    proc, base = serve(env, workdir)
    # retention off: the big store stays as built while the probe runs
    keep = {**env, "OFFLOAD_KEEP_COMPLETED": str(10**9), "OFFLOAD_KEEP_COMPLETED_S": str(10**10)}
    worker = start([sys.executable, "-m", "offload", "worker", "--app", TASKS, "--queues", "probe"], keep, workdir)
    try:
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        body = {"task": "probe", "kwargs": {"n": updates, "gap": 0.35}, "delay": 2}  # starts once the page is open
        job_id = api.post("/api/jobs", json=body).json()["job_id"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            page.goto(f"{base}/sign-in#token={token}")
            page.wait_for_url(lambda u: "sign-in" not in u)
            page.goto(f"{base}/jobs/{job_id}")
            page.wait_for_selector('#conn[data-state="live"]')
            page.evaluate(SEEN)
            while (job := api.get(f"/api/jobs/{job_id}").json())["status"] not in ("completed", "failed"):
                time.sleep(0.5)
            time.sleep(1)
            seen = page.evaluate("window.__seen")
            browser.close()
        sent = job["result"]  # epoch seconds of each set_progress call
        first: dict[int, float] = {}
        for value, at in seen:
            first.setdefault(round(value * updates / 100), at)  # the bar shows percent: i of n
        delays = [first[i + 1] - s * 1000 for i, s in enumerate(sent) if (i + 1) in first]
        return pct(delays, 0.5), pct(delays, 0.99), len(delays)
    finally:
        worker.terminate()
        proc.terminate()
        worker.wait(10)
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--updates", type=int, default=100)
    ap.add_argument("--store", help="reuse (or build here) a big store")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="offload-dashboard-bench-"))
    store = Path(a.store) if a.store else work / "big.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLOAD_")}
    env.update({"OFFLOAD_URL": f"sqlite:///{store}", "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"})
    os.environ["OFFLOAD_URL"] = env["OFFLOAD_URL"]
    if not store.exists():
        build(store, a.jobs)
    from bench.tasks_dashboard import app

    from offload.service import TokenService  # noqa: I001 - after OFFLOAD_URL is set

    token = TokenService(app).create("bench", admin=True)[1]
    jobs = app.backend.job_counts()
    total = sum(sum(c.values()) for c in jobs.values())
    rows = pages(store, env, token, a.requests)
    p50, p99, n = progress_delay(store.parent, env, token, a.updates)
    print(f"\nDashboard on a SQLite store of {total:,} jobs, {a.requests} sequential requests each (ms):\n")
    print("| request | p50 ms | p99 ms |\n|---|---:|---:|")
    for name, q50, q99 in rows:
        print(f"| {name} | {q50:.1f} | {q99:.1f} |")
    print(f"\n`set_progress` to the browser's progress bar, {n} updates: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(json.dumps({"jobs": total, "pages": rows, "progress": {"p50": p50, "p99": p99, "n": n}}), file=sys.stderr)


if __name__ == "__main__":
    random.seed(1)
    main()
