"""``GET /api/health`` when the store is in trouble, for real: it answers within its
1 s budget whatever the store does, says ``degraded`` (503) with the reason when reads
work but writes fail (a full disk, a write lock held elsewhere), ``unavailable`` (503)
when the store is gone, and ``ok`` again by itself once the store is back."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from offload import App
from tests.api.conftest import start_server
from tests.support.procs import Procs, wait_for

BOUND_S = 2.0  # the budget is 1 s: an answer later than this means the wait is not bounded


def timed_health(c: httpx.Client) -> tuple[int, dict]:
    started = time.monotonic()
    r = c.get("/api/health")
    took = time.monotonic() - started
    assert took < BOUND_S, f"health took {took:.2f}s: {r.text}"
    return r.status_code, r.json()


def assert_ok(c: httpx.Client) -> None:
    status, body = timed_health(c)
    assert (status, body["status"]) == (200, "ok"), body
    assert body["backend"]["ok"] is True and body["backend"]["writable"] is True
    assert set(body) >= {"status", "backend", "workers"} and "engine" in body["backend"]


def healthy_again(c: httpx.Client) -> bool:
    status, body = timed_health(c)
    return status == 200 and body["status"] == "ok"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (needs root), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until its file system has no room left."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0")
    assert os.statvfs(folder).f_bavail == 0
    return filler


def test_disk_full_is_degraded_then_ok_once_there_is_room(tmp_path: Path, tiny_disk: Path) -> None:
    url = f"sqlite:///{tiny_disk / 'jobs.db'}"
    procs = Procs(tmp_path, url, env={"OFFLOAD_API_POLL_RATE": "0"})
    try:
        base = start_server(procs, extra=("--no-auth",))
        with httpx.Client(base_url=base, timeout=10) as c:
            assert_ok(c)
            assert c.post("/api/jobs", json={"task": "parked"}).status_code == 202
            filler = fill(tiny_disk)

            def writes_fail() -> bool:
                return c.post("/api/jobs", json={"task": "echo", "kwargs": {"value": "x" * 65536}}).status_code == 503

            wait_for(writes_fail, timeout=30, interval=0, message="a submission refused on the full disk")
            wait_for(lambda: timed_health(c)[1]["status"] != "ok", timeout=5, message="health no longer ok")
            status, body = timed_health(c)
            assert (status, body["status"]) == (503, "degraded"), body
            assert body["backend"]["ok"] is True and body["backend"]["writable"] is False
            assert "full" in body["backend"]["error"], body
            assert "workers" in body and body["backend"]["engine"] == "sqlite"
            assert c.get("/api/jobs").status_code == 200  # reads still work

            filler.unlink()
            wait_for(lambda: healthy_again(c), timeout=15, message="health ok once the disk has room")
            assert_ok(c)
            assert c.post("/api/jobs", json={"task": "parked"}).status_code == 202
    finally:
        procs.cleanup()


def test_sqlite_write_lock_held_elsewhere_is_degraded_within_the_budget(tmp_path: Path) -> None:
    """Another process holds the write lock: a write would wait 30 s (the busy
    timeout); health says so within its budget, and ok once the lock is gone."""
    path = tmp_path / "jobs.db"
    url = f"sqlite:///{path}"
    store = App(url)
    store.backend  # migrated before the server and the lock  # noqa: B018
    store.close()
    procs = Procs(tmp_path, url, env={"OFFLOAD_API_POLL_RATE": "0"})
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        base = start_server(procs, extra=("--no-auth",))
        with httpx.Client(base_url=base, timeout=10) as c:
            assert_ok(c)
            holder.execute("BEGIN IMMEDIATE")
            wait_for(lambda: timed_health(c)[1]["status"] == "degraded", timeout=5, message="degraded")
            for _ in range(3):  # every answer is bounded, the pending probe is not started again
                status, body = timed_health(c)
                assert (status, body["status"]) == (503, "degraded"), body
                assert "within 1s" in body["backend"]["error"] and body["backend"]["ok"] is True
            holder.execute("ROLLBACK")
            wait_for(lambda: healthy_again(c), timeout=10, message="health ok once the lock is released")
    finally:
        holder.close()
        procs.cleanup()


def test_postgres_down_is_503_within_the_budget_then_ok(tmp_path: Path, postgres_server, postgres_url: str) -> None:
    """The pool waits 5 s for a connection; health answers 503 within its 1 s budget,
    every time, and 200 by itself once the server is back."""
    procs = Procs(tmp_path, postgres_url, env={"OFFLOAD_API_POLL_RATE": "0"})
    try:
        base = start_server(procs, extra=("--no-auth",))
        with httpx.Client(base_url=base, timeout=30) as c:
            assert_ok(c)
            postgres_server.stop()
            try:
                # a result is reused for up to 1 s: the first answers may still be the last ok
                wait_for(lambda: timed_health(c)[0] == 503, timeout=5, message="health 503")
                for _ in range(4):
                    status, body = timed_health(c)
                    assert (status, body["status"]) == (503, "unavailable"), body
                    assert body["backend"]["ok"] is False and body["backend"]["error"]
                    assert body["backend"]["engine"] == "postgresql"
            finally:
                postgres_server.start()
            wait_for(lambda: healthy_again(c), timeout=30, interval=0.2, message="health ok after the restart")
            assert c.post("/api/jobs", json={"task": "parked"}).status_code == 202
    finally:
        procs.cleanup()
