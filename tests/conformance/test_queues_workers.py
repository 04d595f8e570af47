"""Queues (pause), the worker registry, and the waiter that wakes idle workers."""

from __future__ import annotations

import threading

from offload.backends.base import Backend
from offload.records import JobStatus, WorkerInfo

from .helpers import FAR, T0, claim, get, insert_one, job_in, lease_of, make_job

WAKE_DEADLINE = 5.0  # generous: a wake-up normally comes in milliseconds

# -- queues -------------------------------------------------------------------------------


def test_no_paused_queues_at_first(backend: Backend) -> None:
    assert backend.queue_paused() == set()


def test_pause_and_resume(backend: Backend) -> None:
    backend.queue_pause("a", True)
    backend.queue_pause("b", True)
    assert backend.queue_paused() == {"a", "b"}
    backend.queue_pause("a", False)
    assert backend.queue_paused() == {"b"}
    backend.queue_pause("b", False)
    assert backend.queue_paused() == set()


def test_pause_is_idempotent(backend: Backend) -> None:
    backend.queue_pause("a", True)
    backend.queue_pause("a", True)
    assert backend.queue_paused() == {"a"}
    backend.queue_pause("x", False)  # resuming a queue never paused
    assert backend.queue_paused() == {"a"}


def test_pausing_leaves_running_jobs_alone(backend: Backend) -> None:
    r = insert_one(backend, queue="a")
    [running] = claim(backend, ["a"])
    backend.queue_pause("a", True)
    assert get(backend, r).status == JobStatus.RUNNING
    hb = backend.job_heartbeat([lease_of(running)], lease_s=30, now=T0 + 1)
    assert hb.held == {r}


def test_paused_queue_still_accepts_jobs(backend: Backend) -> None:
    backend.queue_pause("a", True)
    job_id = insert_one(backend, queue="a")
    assert get(backend, job_id).status == JobStatus.QUEUED
    assert claim(backend, ["a"]) == []


# -- workers ------------------------------------------------------------------------------


def info(worker_id: str, *, beat: float, started: float = T0, running: list[str] | None = None) -> WorkerInfo:
    return WorkerInfo(
        id=worker_id,
        host="host-1",
        pid=1234,
        queues=["high", "default"],
        concurrency=8,
        started_at=started,
        heartbeat_at=beat,
        running=running or [],
    )


def test_worker_beat_registers(backend: Backend) -> None:
    w = info("w1", beat=T0, running=["job-a"])
    backend.worker_beat(w)
    assert backend.worker_list(alive_after=T0 - 10) == [w]


def test_worker_beat_updates(backend: Backend) -> None:
    backend.worker_beat(info("w1", beat=T0))
    backend.worker_beat(info("w1", beat=T0 + 5, running=["job-a", "job-b"]))
    [w] = backend.worker_list(alive_after=T0 - 10)
    assert (w.id, w.heartbeat_at, w.running) == ("w1", T0 + 5, ["job-a", "job-b"])
    assert (w.host, w.pid, w.queues, w.concurrency, w.started_at) == ("host-1", 1234, ["high", "default"], 8, T0)


def test_worker_list_leaves_out_stale_workers(backend: Backend) -> None:
    backend.worker_beat(info("old", beat=T0))
    backend.worker_beat(info("new", beat=T0 + 60, started=T0 + 1))
    assert [w.id for w in backend.worker_list(alive_after=T0 + 30)] == ["new"]
    assert {w.id for w in backend.worker_list(alive_after=T0 - 1)} == {"old", "new"}
    assert backend.worker_list(alive_after=T0 + 61) == []


def test_worker_comes_back_to_life_with_a_beat(backend: Backend) -> None:
    backend.worker_beat(info("w1", beat=T0))
    assert backend.worker_list(alive_after=T0 + 30) == []
    backend.worker_beat(info("w1", beat=T0 + 40))
    assert [w.id for w in backend.worker_list(alive_after=T0 + 30)] == ["w1"]


def test_worker_remove(backend: Backend) -> None:
    backend.worker_beat(info("w1", beat=T0))
    backend.worker_beat(info("w2", beat=T0))
    backend.worker_remove("w1")
    assert [w.id for w in backend.worker_list(alive_after=0)] == ["w2"]
    backend.worker_remove("w1")  # removing twice is harmless
    backend.worker_remove("never-was")
    assert [w.id for w in backend.worker_list(alive_after=0)] == ["w2"]


def test_worker_prune_forgets_workers_gone_silent(backend: Backend) -> None:
    backend.worker_beat(info("dead", beat=T0))
    backend.worker_beat(info("alive", beat=T0 + 100))
    assert backend.worker_prune(before=T0 + 50) == 1
    assert [w.id for w in backend.worker_list(alive_after=0)] == ["alive"]
    assert backend.worker_prune(before=T0 + 50) == 0


# -- waiter -------------------------------------------------------------------------------


def test_waiter_times_out_when_nothing_happens(backend: Backend) -> None:
    w = backend.waiter("w1", ["default"])
    try:
        assert w.wait(0.05) is False
    finally:
        w.close()


def test_waiter_woken_by_insert_of_a_due_job(backend: Backend) -> None:
    w = backend.waiter("w1", ["default"])
    try:
        backend.job_insert_many([make_job()])
        assert w.wait(WAKE_DEADLINE) is True
    finally:
        w.close()


def test_waiter_woken_by_insert_from_another_thread(backend: Backend) -> None:
    w = backend.waiter("w1", ["default"])
    try:
        t = threading.Thread(target=lambda: backend.job_insert_many([make_job()]))
        t.start()
        assert w.wait(WAKE_DEADLINE) is True
        t.join(timeout=WAKE_DEADLINE)
    finally:
        w.close()


def test_every_waiter_woken(backend: Backend) -> None:
    waiters = [backend.waiter(f"w{i}", ["default"]) for i in range(3)]
    try:
        backend.job_insert_many([make_job()])
        assert [w.wait(WAKE_DEADLINE) for w in waiters] == [True, True, True]
    finally:
        for w in waiters:
            w.close()


def test_waiter_woken_by_retry(backend: Backend) -> None:
    job, _ = job_in(backend, JobStatus.FAILED, queue="default")
    w = backend.waiter("w1", ["default"])
    try:
        backend.job_retry(job.id)
        assert w.wait(WAKE_DEADLINE) is True
    finally:
        w.close()


def test_ring_from_another_thread(backend: Backend) -> None:
    w = backend.waiter("w1", ["default"])
    try:
        t = threading.Thread(target=w.ring)
        t.start()
        assert w.wait(WAKE_DEADLINE) is True
        t.join(timeout=WAKE_DEADLINE)
        assert w.wait(0.05) is False  # one ring, one wake: the waiter drains it
    finally:
        w.close()


def test_ring_before_wait_is_not_lost(backend: Backend) -> None:
    w = backend.waiter("w1", ["default"])
    try:
        w.ring()
        assert w.wait(WAKE_DEADLINE) is True
    finally:
        w.close()


def test_waiter_close_then_new_waiter_with_the_same_id(backend: Backend) -> None:
    w = backend.waiter("w1", ["default"])
    w.close()
    w2 = backend.waiter("w1", ["default"])
    try:
        backend.job_insert_many([make_job()])
        assert w2.wait(WAKE_DEADLINE) is True
    finally:
        w2.close()


def test_insert_after_a_waiter_closed_still_works(backend: Backend) -> None:
    w = backend.waiter("w1", ["default"])
    w.close()
    job_id = insert_one(backend)
    insert_one(backend, run_at=T0 + FAR)
    assert get(backend, job_id).status == JobStatus.QUEUED
