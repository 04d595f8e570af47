"""A SQLite store on a full disk: the worker backs off (0.1 s doubling to 10 s) instead
of retrying every 0.1 s, says once that the store fails and once that it works again,
and finishes its jobs when there is room again. A real full disk: a 2 MiB tmpfs."""

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from tests.support.procs import wait_for


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a 2 MiB tmpfs needs root: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Take every free block of the file system ``folder`` is on."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    try:
        os.write(os.open(folder / "probe", os.O_WRONLY | os.O_CREAT), b"x")
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    else:
        raise AssertionError("the disk is not full")
    return filler


def test_a_full_disk_slows_the_worker_down_and_is_logged_once(
    small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = offload.App(f"sqlite:///{small_disk / 'jobs.db'}", heartbeat_s=0.1, poll_s=0.2, lease_s=60.0)

    @app.task()
    def render(n: int) -> str:
        return f"{n}:" + "x" * 200_000  # a result that takes new pages

    handles = [render.enqueue(n) for n in range(3)]
    filler = fill(small_disk)
    caplog.set_level(logging.DEBUG, logger="offload")
    worker = app.run_workers(concurrency=1)
    try:

        def said(text: str, logger: str = "offload.worker") -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.name.startswith(logger) and text in r.getMessage()]

        wait_for(lambda: said("next try in 3.2s"), 30, message="the backoff to reach 3.2 s")
        assert worker.health()["store_ok"] is False
        warnings = [r for r in caplog.records if r.name.startswith("offload.worker") and r.levelno >= logging.WARNING]
        [loop] = [r.getMessage() for r in warnings if r.name == "offload.worker.outage"]  # the loop says it once
        assert "the store is failing" in loop and "disk is full" in loop
        per_duty = collections.Counter(
            r.getMessage().split(" failed")[0] for r in warnings if r.name == "offload.worker.duties"
        )
        assert per_duty and set(per_duty.values()) == {1}, per_duty  # each duty says it once
        tries = [float(r.getMessage().rsplit(" ", 1)[1].rstrip("s")) for r in said("next try in")]
        assert tries[:6] == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2]

        filler.unlink()  # room again
        assert [h.wait(30)[:2] for h in handles] == ["0:", "1:", "2:"]
        wait_for(lambda: said("the store works again"), 10)
        assert worker.health()["store_ok"] is True
        assert len([r for r in caplog.records if "the store is failing" in r.getMessage()]) == 1
    finally:
        worker.stop(grace=0.5, timeout=10)
        app.close()
