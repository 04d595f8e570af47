"""Takes the README's pictures of the dashboard: docs/dashboard-overview.png and
docs/dashboard-job.png (and their -dark twins).

    .venv/bin/python scripts/screenshots.py [--out docs]

Runs the working tree's ``offload serve`` and ``offload worker`` with the demo tasks on a
temporary SQLite store, after writing an hour of finished runs into it through the
store's own calls (with their times given, so the charts have a past), and photographs
the pages in Debian's Chromium.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from playwright.sync_api import sync_playwright  # noqa: E402

from offload.records import JobStatus, Outcome  # noqa: E402
from offload.service import TokenService  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed_history(app, now: float) -> None:  # noqa: ANN001
    """An hour of finished runs of the demo tasks, a few a minute, some failed."""
    rng = random.Random(7)
    backend = app.backend
    tasks = [("scrape", "default"), ("fetch_mail", "mail"), ("annotate_batch", "ai"), ("generate_image", "media")]
    for minute in range(60, 0, -1):
        for _ in range(rng.randint(4, 14) + (8 if 20 < minute < 30 else 0)):
            task, queue = rng.choice(tasks)
            start = now - minute * 60 + rng.uniform(0, 50)
            job = app.build_job(task, ["seed"] if task != "annotate_batch" else [["x"]], {}, queue=queue)
            backend.job_insert_many([job], now=start)
            (claimed,) = backend.job_claim(queues=[queue], limit=1, worker_id="seed", lease_s=60, now=start)
            failed = rng.random() < (0.25 if 35 < minute < 40 else 0.04)
            outcome = Outcome(
                claimed.id,
                claimed.lease_token or "",
                JobStatus.FAILED if failed else JobStatus.COMPLETED,
                result_json=None if failed else "{}",
                error="ConnectionError: upstream timed out" if failed else None,
            )
            backend.job_finish([outcome], now=start + rng.uniform(0.5, 8))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs"))
    out = Path(ap.parse_args().out)
    work = Path(tempfile.mkdtemp(prefix="offload-screens-"))
    env = {**os.environ, "OFFLOAD_URL": f"sqlite:///{work / 'jobs.db'}", "PYTHONPATH": str(ROOT / "src")}
    os.environ["OFFLOAD_URL"] = env["OFFLOAD_URL"]
    demo = importlib.import_module("offload.demo")  # its App reads OFFLOAD_URL
    app = demo.app
    seed_history(app, time.time())
    token = TokenService(app).create("ops", admin=True)[1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    procs = [
        subprocess.Popen([sys.executable, "-m", "offload", "worker", "--app", "offload.demo:app", "--concurrency", "6"],
                         env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "offload", "serve", "--app", "offload.demo:app", "--port", str(port)],
                         env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    try:
        ids = demo.submit_showcase(speed=0.6)
        video = ids[1]
        time.sleep(6)  # the showcase under way: bars part-filled, a failure or two
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for scheme in ("light", "dark"):
                ctx = browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme=scheme)
                page = ctx.new_page()
                page.goto(f"{base}/sign-in#token={token}")
                page.wait_for_url(lambda u: "sign-in" not in u)
                suffix = "" if scheme == "light" else "-dark"
                page.wait_for_timeout(800)
                page.screenshot(path=str(out / f"dashboard-overview{suffix}.png"))
                page.goto(f"{base}/jobs/{video}")
                page.wait_for_timeout(1500)
                page.screenshot(path=str(out / f"dashboard-job{suffix}.png"))
                ctx.close()
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
    print(f"wrote {out}/dashboard-overview.png, dashboard-job.png and their -dark twins")


if __name__ == "__main__":
    main()
