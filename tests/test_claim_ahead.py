"""Claiming ahead: a worker with short runs holds more jobs than slots, never runs more
than its slots at once, and gives back a job that would wait long for one."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator

import pytest

import offload
from offload.records import JobStatus
from offload.worker.ahead import ClaimAhead
from offload.worker.duties import give_back
from tests.support.procs import wait_for


@pytest.fixture
def app(sqlite_url: str) -> Iterator[offload.App]:
    # 50 ms of wait allowed: runs slowed down by a busy test machine still count as short.
    app = offload.App(sqlite_url, heartbeat_s=0.1, lease_s=5.0, poll_s=0.2, claim_ahead_s=0.05)
    yield app
    app.close()


class Gauge:
    """How many task bodies run at once, at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def test_the_number_ahead_follows_how_long_runs_take() -> None:
    ahead = ClaimAhead(16, wait_s=0.001)
    assert ahead.extra == 0  # nothing known yet: nothing ahead
    ahead.ran([0.00005] * 5)
    assert ahead.extra == 64  # four per slot at most
    middling = ClaimAhead(16, wait_s=0.001)
    middling.ran([0.0005] * 5)
    assert middling.extra == 32  # 16 slots free up every 0.5 ms: 32 in line wait ~1 ms
    slow = ClaimAhead(16, wait_s=0.001)
    slow.ran([0.01] * 5)
    assert slow.extra == 1  # 16 slots free up every 10 ms: the next job waits ~0.6 ms
    slow.ran([0.1] * 20)
    assert slow.extra == 0
    assert ClaimAhead(16, wait_s=0.0).extra == 0
    off = ClaimAhead(16, wait_s=0.0)
    off.ran([0.00005])
    assert off.extra == 0


def test_a_long_wait_stops_claiming_ahead_until_runs_are_short_again() -> None:
    ahead = ClaimAhead(4, wait_s=0.001)
    ahead.ran([0.0001] * 3)
    assert ahead.extra == 16
    ahead.waited(0.2)
    assert ahead.extra == 0
    ahead.ran([])  # the wait counts like a run that long
    assert ahead.extra == 0
    ahead.ran([0.0001] * 40)
    assert ahead.extra == 16


def test_short_jobs_are_claimed_ahead_but_never_run_more_than_the_slots(app: offload.App) -> None:
    gauge = Gauge()
    running_in_store: list[int] = []

    @app.task()
    def short(n: int) -> int:
        with gauge:
            running_in_store.append(app.backend.job_counts()["default"].get("running", 0))
        return n

    handles = short.enqueue_many([(n,) for n in range(300)])
    code = offload.Worker(app, queues=["default"], concurrency=2, burst=True).run()
    assert code == 0
    assert [h.result for h in handles] == list(range(300))
    assert gauge.most <= 2
    assert max(running_in_store) > 2  # jobs claimed ahead were held while two ran


def test_async_jobs_claimed_ahead_wait_for_a_slot(app: offload.App) -> None:
    gauge = Gauge()

    @app.task()
    async def short(n: int) -> int:
        with gauge:
            await asyncio.sleep(0)  # not a wait: a point where another run could overlap this one
        return n

    handles = short.enqueue_many([(n,) for n in range(300)])
    worker = offload.Worker(app, queues=["default"], concurrency=2, burst=True)
    assert worker.run() == 0
    assert [h.result for h in handles] == list(range(300))
    assert gauge.most <= 2
    assert worker.ahead.extra > 0


def claim_two_behind_a_blocker(app: offload.App) -> tuple[offload.Worker, threading.Event, list[str], list]:
    """One slot; after a few short runs the worker claims a second job ahead, which
    then waits behind a run that blocks until the returned event is set."""
    release, started = threading.Event(), []

    @app.task()
    def step(name: str) -> str:
        started.append(name)
        if name == "blocker":
            release.wait(20)
        return name

    warm = step.enqueue_many([(f"warm{i}",) for i in range(5)])
    worker = app.run_workers(concurrency=1)
    wait_for(lambda: all(h.refresh().status == JobStatus.COMPLETED for h in warm))
    blocker, victim = step.enqueue_many([("blocker",), ("victim",)])
    wait_for(lambda: "blocker" in started)
    return worker, release, started, [blocker, victim]


def test_a_job_claimed_ahead_behind_a_long_run_goes_back_to_its_queue(app: offload.App) -> None:
    worker, release, started, (blocker, victim) = claim_two_behind_a_blocker(app)
    try:
        # It was claimed with the blocker, then given back while every slot stayed busy.
        record = wait_for(lambda: (r := victim.refresh()).status == JobStatus.QUEUED and r.worker_id is None and r)
        assert record.attempts == 0
        assert started[-1] == "blocker" and blocker.refresh().status == JobStatus.RUNNING
        events = [e.data.get("status") for e in app.backend.event_list(job_id=victim.id) if e.type == "status"]
        assert events == ["queued", "running", "queued"]
        release.set()
        assert victim.wait(10) == "victim"  # the same worker runs it once a slot is free
        assert started.count("victim") == 1 and victim.refresh().attempts == 1
    finally:
        release.set()
        worker.stop(grace=1, timeout=10)


def test_a_job_claimed_ahead_that_waits_at_shutdown_goes_back_without_running(
    app: offload.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(give_back, "GIVE_BACK_S", 60.0)  # only the stop gives it back
    worker, release, started, (blocker, victim) = claim_two_behind_a_blocker(app)
    try:
        wait_for(lambda: victim.refresh().status == JobStatus.RUNNING)
        worker.request_stop(grace=0.1)
        assert worker.wait(10)
        release.set()  # the blocker's thread comes back and finds the next one in line
        record = wait_for(lambda: (r := victim.refresh()).status == JobStatus.QUEUED and r)
        assert (record.attempts, record.worker_id) == (0, None)
        assert blocker.refresh().status == JobStatus.QUEUED
        late = offload.Worker(app, queues=["default"], concurrency=1, burst=True)
        late.run()
        assert started.count("victim") == 1  # run once, by the later worker
    finally:
        release.set()


def test_a_give_back_the_store_refuses_keeps_the_job_and_runs_it_once(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = offload.App(f"{sqlite_url}?busy_timeout=0.05", heartbeat_s=0.1, lease_s=5.0, poll_s=0.2, claim_ahead_s=0.05)
    try:
        worker, release, started, (blocker, victim) = claim_two_behind_a_blocker(app)
        wait_for(lambda: victim.refresh().status == JobStatus.RUNNING)
        lock = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # the store refuses every write for now
        try:
            wait_for(
                lambda: any("give-back failed" in r.getMessage() for r in caplog.records), message="a refused give-back"
            )
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        release.set()
        assert victim.wait(10) == "victim"
        assert blocker.wait(10) == "blocker"
        assert started.count("victim") == 1
        worker.stop(grace=1, timeout=10)
    finally:
        release.set()
        app.close()


def test_a_job_claimed_ahead_whose_lease_went_meanwhile_never_runs(
    app: offload.App, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(give_back, "GIVE_BACK_S", 60.0)
    worker, release, started, (blocker, victim) = claim_two_behind_a_blocker(app)
    try:
        wait_for(lambda: victim.refresh().status == JobStatus.RUNNING)
        with sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None) as other:
            # As another worker does once this lease expired: the job is its own now.
            other.execute("UPDATE jobs SET lease_token = 'theirs', worker_id = 'other' WHERE id = ?", (victim.id,))
        wait_for(lambda: any(r.ctx.lost for r in worker.runs() if r.record.id == victim.id), message="lease lost")
        release.set()
        assert blocker.wait(10) == "blocker"
        wait_for(lambda: victim.id not in {r.record.id for r in worker.runs()}, message="victim dropped")
        assert "victim" not in started
        record = victim.refresh()
        assert (record.status, record.lease_token, record.worker_id) == (JobStatus.RUNNING, "theirs", "other")
    finally:
        release.set()
        worker.stop(grace=1, timeout=10)
