"""``app.run_workers()`` inside a host process (a web app): a liveness check, a health
report, a stop for the host's shutdown hook, and jobs given back when the host exits
without calling it. On every store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from offload.records import JobStatus
from tests.support.procs import Procs, wait_for


@pytest.fixture
def app(store_url: str) -> Iterator[offload.App]:
    app = offload.App(store_url, heartbeat_s=0.1, lease_s=30.0, poll_s=0.2)
    yield app
    app.close()


def test_alive_health_and_stop(app: offload.App) -> None:
    started, go = threading.Event(), threading.Event()

    @app.task()
    def long(job: offload.JobContext) -> str:
        started.set()
        while not go.is_set() and not job.cancel_requested:
            time.sleep(0.01)
        return "done"

    worker = app.run_workers(concurrency=3)
    wait_for(lambda: worker.alive, message="the worker to be up")
    h = long.enqueue()
    wait_for(started.is_set)
    health = worker.health()
    assert health["alive"] is True and health["slots"] == 3 and health["running"] == 1
    assert (health["stuck"], health["stopping"], health["store_ok"]) == ([], False, True)
    wait_for(lambda: worker.health()["heartbeat_age_s"] is not None and worker.health()["heartbeat_age_s"] < 1)

    worker.stop(grace=0.2, timeout=10)  # what the host's shutdown hook calls
    assert worker.alive is False and worker.health()["alive"] is False
    record = h.refresh()
    assert (record.status, record.attempts) == (JobStatus.QUEUED, 0)  # given back, not left to its lease
    go.set()


def test_a_host_that_exits_without_stopping_its_worker_gives_its_jobs_back(tmp_path: Path, store_url: str) -> None:
    """No signal handler, no shutdown hook: at exit the jobs go back to queued at once,
    instead of waiting out their 30 s lease."""
    procs = Procs(tmp_path, store_url)
    code = f"""
import time, offload
app = offload.App({store_url!r}, lease_s=30.0)

@app.task()
def forever(job):
    while True:
        time.sleep(0.01)

h = forever.enqueue()
app.run_workers(concurrency=1)
while h.status() != "running":
    time.sleep(0.01)
print(h.id, flush=True)
"""
    try:
        done = procs.python(code, timeout=60)
        assert done.returncode == 0, done.stderr
        job_id = done.stdout.split()[-1]
        store = offload.App(store_url)
        record = store.backend.job_get(job_id)
        store.close()
        assert record is not None and (record.status, record.attempts) == (JobStatus.QUEUED, 0)
    finally:
        procs.cleanup()
