"""Workers serve the tasks they have: job_claim(tasks=...), what live workers record
about themselves (tasks, stuck runs), and which tasks have jobs waiting."""

from __future__ import annotations

from offload.backends.base import Backend
from offload.records import JobStatus, WorkerInfo

from .helpers import T0, claim_ids, fresh_queue, get, insert, insert_one, job_in, make_jobs, outcome, running_job


def test_a_claim_takes_only_the_tasks_it_names(backend: Backend) -> None:
    queue = fresh_queue()
    mine = insert(backend, *make_jobs(3, task="mine", queue=queue))
    theirs = insert(backend, *make_jobs(3, start=T0 - 100, task="theirs", queue=queue))  # older: first in line
    assert claim_ids(backend, [queue], tasks=["mine", "other"]) == mine
    assert [get(backend, i).status for i in theirs] == [JobStatus.QUEUED] * 3
    assert claim_ids(backend, [queue], tasks=["mine"]) == []
    assert claim_ids(backend, [queue], tasks=["theirs"]) == theirs


def test_a_claim_by_task_keeps_the_order_and_the_limit(backend: Backend) -> None:
    queue = fresh_queue()
    low = insert(backend, *make_jobs(2, task="a", queue=queue, priority=0))
    insert(backend, *make_jobs(2, task="b", queue=queue, priority=9))
    high = insert(backend, *make_jobs(2, start=T0 + 10, task="c", queue=queue, priority=5))
    assert claim_ids(backend, [queue], tasks=["a", "c"], limit=3) == [*high, low[0]]
    assert claim_ids(backend, [queue], tasks=["a", "c"], limit=3) == [low[1]]


def test_a_claim_by_task_serves_queues_in_order(backend: Backend) -> None:
    first, second = fresh_queue(), fresh_queue()
    a = insert_one(backend, task="a", queue=second)
    insert_one(backend, task="b", queue=first)
    c = insert_one(backend, task="a", queue=first)
    assert claim_ids(backend, [first, second], tasks=["a"]) == [c, a]


def test_a_claim_with_no_tasks_takes_nothing(backend: Backend) -> None:
    queue = fresh_queue()
    insert_one(backend, queue=queue)
    assert claim_ids(backend, [queue], tasks=[]) == []
    assert len(claim_ids(backend, [queue], tasks=None)) == 1  # None: any task


def test_a_turn_claims_only_the_tasks_it_names(backend: Backend) -> None:
    done = running_job(backend)
    other = insert_one(backend, task="other", queue=done.queue)
    mine = insert_one(backend, task="mine", queue=done.queue)
    written, claimed = backend.job_finish_and_claim(
        [outcome(done, JobStatus.COMPLETED, result_json="1")],
        queues=[done.queue],
        limit=5,
        worker_id="w",
        lease_s=30,
        now=T0 + 1,
        tasks=["mine"],
    )
    assert written == {done.id} and [r.id for r in claimed] == [mine]
    assert get(backend, other).status == JobStatus.QUEUED


def test_waiting_tasks_lists_each_queue_and_task_once(backend: Backend) -> None:
    q1, q2 = fresh_queue(), fresh_queue()
    insert(backend, *make_jobs(3, task="a", queue=q1))
    insert_one(backend, task="b", queue=q2)
    later, _ = job_in(backend, JobStatus.SCHEDULED, task="later")
    again, _ = job_in(backend, JobStatus.RETRYING, task="again")
    for status in (JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
        job_in(backend, status, task=f"not-{status}")
    assert backend.job_waiting_tasks() == {(q1, "a"), (q2, "b"), (later.queue, "later"), (again.queue, "again")}


def test_waiting_tasks_of_an_empty_store(backend: Backend) -> None:
    assert backend.job_waiting_tasks() == set()


def _info(worker_id: str, **kw: object) -> WorkerInfo:
    fields: dict[str, object] = {
        "id": worker_id,
        "host": "h",
        "pid": 1,
        "queues": ["default"],
        "concurrency": 4,
        "started_at": T0,
        "heartbeat_at": T0,
    }
    fields.update(kw)
    return WorkerInfo(**fields)  # type: ignore[arg-type]


def test_a_worker_records_its_tasks_and_stuck_runs(backend: Backend) -> None:
    backend.worker_beat(_info("w1", tasks=["scrape", "render"]))
    backend.worker_beat(_info("w1", heartbeat_at=T0 + 1, tasks=["scrape", "render"], stuck=["job-1", "job-2"]))
    [w] = backend.worker_list(alive_after=T0)
    assert (w.tasks, w.stuck, w.heartbeat_at) == (["scrape", "render"], ["job-1", "job-2"], T0 + 1)
    backend.worker_beat(_info("w1", heartbeat_at=T0 + 2, tasks=["scrape", "render"]))
    assert backend.worker_list(alive_after=T0)[0].stuck == []


def test_a_worker_that_records_no_tasks_reads_back_none(backend: Backend) -> None:
    backend.worker_beat(_info("old"))
    [w] = backend.worker_list(alive_after=T0)
    assert (w.tasks, w.stuck) == (None, [])
