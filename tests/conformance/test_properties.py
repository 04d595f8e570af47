"""Random sequences of operations against a model of the rules.

A Hypothesis state machine inserts, claims, heartbeats, finishes and releases with
current and stale tokens, cancels, retries, deletes, recovers and prunes while a clock
moves forward. After every step each job's status and attempts match the model; at the
end each job's "status" events are exactly the moves the model made, all of them in
TRANSITIONS, and no job was lost.

Examples share the store, so each one uses a queue of its own and a clock that starts
after the previous example's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from offload.backends.base import Backend
from offload.errors import InvalidTransition
from offload.records import ACTIVE, TERMINAL, TRANSITIONS, WAITING, JobStatus, Lease, NewJob, Outcome, PruneRule

from .helpers import T0, fresh_queue, status_history

S = JobStatus
STALE = "f" * 16
_ids = itertools.count()
_epochs = itertools.count()

# Leases end on a half second and the clock moves in whole seconds, so no lease ever
# expires exactly "now" (where stores may differ on < and <=).
LEASES = st.sampled_from([10.5, 40.5])
PICK = st.integers(min_value=0, max_value=10_000)
WORKER_WRITES = ["completed", "failed", "retrying_now", "retrying_later", "cancelled", "heartbeat", "release"]


def _job_id() -> str:
    from offload.records import new_job_id

    return new_job_id(T0 + next(_ids) * 0.001)  # strictly increasing, unique across examples


@dataclass
class Model:
    id: str
    status: JobStatus
    priority: int
    max_attempts: int
    run_at: float
    attempts: int = 0
    tokens: list[str] = field(default_factory=list)
    lease_expires: float | None = None
    completed_at: float | None = None
    cancel_requested: bool = False
    history: list[str] = field(default_factory=list)

    def move(self, status: JobStatus) -> None:
        assert status in TRANSITIONS[self.status], f"the model itself broke the rules: {self.status} -> {status}"
        self.status = status
        self.history.append(str(status))

    def token(self, stale: bool) -> str:
        if not stale and self.tokens:
            return self.tokens[-1]
        return self.tokens[-2] if len(self.tokens) > 1 else STALE

    def holds(self, token: str) -> bool:
        return self.status == S.RUNNING and bool(self.tokens) and token == self.tokens[-1]


class JobMachine(RuleBasedStateMachine):
    store: Backend  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.queue = fresh_queue()
        self.clock = T0 + 1e6 * next(_epochs)
        self.jobs: dict[str, Model] = {}
        self.gone: set[str] = set()

    # -- helpers --------------------------------------------------------------------

    def live(self) -> list[Model]:
        return [self.jobs[i] for i in sorted(self.jobs) if i not in self.gone]

    def pick(self, n: int) -> Model:
        live = self.live()
        return live[n % len(live)]

    def held(self) -> list[Model]:
        return [j for j in self.live() if j.tokens]

    def pick_held(self, n: int, stale: bool) -> Model:
        """A running job for a current-token write when there is one. For a stale write,
        often a job that runs again under a newer token (the case fencing is for), else
        any job that ran."""
        running = [j for j in self.held() if j.status == S.RUNNING]
        rerun = [j for j in running if len(j.tokens) > 1]
        if not stale:
            pool = running or self.held()
        elif rerun and n % 2:
            pool = rerun
        else:
            pool = self.held()
        return pool[n % len(pool)]

    # -- rules ----------------------------------------------------------------------

    @initialize(n=st.integers(min_value=1, max_value=3), max_attempts=st.integers(min_value=1, max_value=3))
    def start(self, n: int, max_attempts: int) -> None:
        self.insert(n, None, 0, max_attempts)

    @rule(
        n=st.integers(min_value=1, max_value=3),
        delay=st.sampled_from([None, 5.0, 50.0]),
        priority=st.integers(min_value=0, max_value=2),
        max_attempts=st.integers(min_value=1, max_value=3),
    )
    def insert(self, n: int, delay: float | None, priority: int, max_attempts: int) -> None:
        run_at = None if delay is None else self.clock + delay
        new = [
            NewJob(
                id=_job_id(),
                task="tests.noop",
                queue=self.queue,
                args_json="[]",
                kwargs_json="{}",
                priority=priority,
                max_attempts=max_attempts,
                run_at=run_at,
            )
            for _ in range(n)
        ]
        result = self.store.job_insert_many(new, now=self.clock)
        assert [(r.id, r.created) for r in result] == [(j.id, True) for j in new]
        status = S.QUEUED if run_at is None else S.SCHEDULED
        for j in new:
            self.jobs[j.id] = Model(j.id, status, priority, max_attempts, run_at or self.clock, history=[str(status)])

    @rule(limit=st.integers(min_value=1, max_value=4), lease_s=LEASES, dt=st.sampled_from([0, 0, 10]))
    def claim(self, limit: int, lease_s: float, dt: int) -> None:
        self.clock += dt
        due = [j for j in self.live() if j.status in WAITING and j.run_at <= self.clock]
        due.sort(key=lambda j: (-j.priority, j.run_at, j.id))
        expected = {j.id for j in due[:limit]}
        got = self.store.job_claim(queues=[self.queue], limit=limit, worker_id="w", lease_s=lease_s, now=self.clock)
        assert {r.id for r in got} == expected
        for r in got:
            j = self.jobs[r.id]
            assert r.lease_token and r.lease_token not in j.tokens
            j.move(S.RUNNING)
            j.attempts += 1
            j.tokens.append(r.lease_token)
            j.lease_expires = self.clock + lease_s
            j.cancel_requested = False
            assert r.attempts == j.attempts

    @precondition(lambda self: self.held())
    @rule(n=PICK, stale=st.booleans(), write=st.sampled_from(WORKER_WRITES), lease_s=LEASES)
    def worker_write(self, n: int, stale: bool, write: str, lease_s: float) -> None:
        """A write from a worker that holds (or once held) the job."""
        j = self.pick_held(n, stale)
        token = j.token(stale)
        if write == "heartbeat":
            self._heartbeat(j, token, lease_s)
        elif write == "release":
            self._release(j, token)
        else:
            self._finish(j, token, write)

    def _finish(self, j: Model, token: str, write: str) -> None:
        status = S.RETRYING if write.startswith("retrying") else JobStatus(write)
        run_at = (self.clock + 20 if write == "retrying_later" else self.clock) if status == S.RETRYING else None
        outcome = Outcome(j.id, token, status, result_json="1", error="e", run_at=run_at)
        written = self.store.job_finish([outcome], now=self.clock)
        if not j.holds(token):
            assert written == set()
            return
        assert written == {j.id}
        if j.cancel_requested and status in (S.COMPLETED, S.RETRYING):  # a cancel request is honoured
            status, run_at = S.CANCELLED, None
        j.move(status)
        j.lease_expires = None
        if status in TERMINAL:
            j.completed_at = self.clock
        if run_at is not None:
            j.run_at = run_at

    def _heartbeat(self, j: Model, token: str, lease_s: float) -> None:
        result = self.store.job_heartbeat([Lease(j.id, token)], lease_s=lease_s, now=self.clock)
        if not j.holds(token):
            assert result.held == frozenset()
            return
        assert result.held == {j.id}
        assert result.cancel_requested == ({j.id} if j.cancel_requested else set())
        j.lease_expires = self.clock + lease_s

    def _release(self, j: Model, token: str) -> None:
        written = self.store.job_release([Lease(j.id, token)], now=self.clock)
        if not j.holds(token):
            assert written == set()
            return
        assert written == {j.id}
        j.lease_expires = None
        if j.cancel_requested:  # a cancel request is honoured, not put back
            j.move(S.CANCELLED)
            j.completed_at = self.clock
        else:
            j.move(S.QUEUED)
            j.attempts -= 1

    @precondition(lambda self: self.live())
    @rule(n=PICK, action=st.sampled_from(["cancel", "retry", "delete"]))
    def user_action(self, n: int, action: str) -> None:
        j = self.pick(n)
        allowed = {"cancel": ACTIVE, "retry": {S.FAILED, S.CANCELLED}, "delete": TERMINAL}[action]
        if j.status not in allowed:
            try:
                self._user(j, action)
            except InvalidTransition:
                return
            raise AssertionError(f"{action} of a {j.status} job was accepted")
        self._user(j, action)
        if action == "delete":
            self.gone.add(j.id)
        elif action == "retry":
            j.move(S.QUEUED)
            j.attempts = 0
            j.run_at = self.clock
            j.completed_at = None
            j.cancel_requested = False
        elif j.status == S.RUNNING:
            j.cancel_requested = True
        else:
            j.move(S.CANCELLED)
            j.completed_at = self.clock

    def _user(self, j: Model, action: str) -> None:
        if action == "delete":
            self.store.job_delete(j.id)
            return
        record = (
            self.store.job_cancel(j.id, now=self.clock)
            if action == "cancel"
            else self.store.job_retry(j.id, now=self.clock)
        )
        if action == "retry":
            assert (record.status, record.attempts, record.error) == (S.QUEUED, 0, None)
        elif j.status == S.RUNNING:
            assert (record.status, record.cancel_requested) == (S.RUNNING, True)
        else:
            assert record.status == S.CANCELLED

    @rule(dt=st.sampled_from([0, 15, 45]))
    def recover(self, dt: int) -> None:
        self.clock += dt
        expired = {
            j.id
            for j in self.live()
            if j.status == S.RUNNING and j.lease_expires is not None and j.lease_expires < self.clock
        }
        got = [r for r in self.store.job_recover(now=self.clock) if r.id in self.jobs]
        assert {r.id for r in got} == expired
        for r in got:
            j = self.jobs[r.id]
            j.lease_expires = None
            if j.cancel_requested:
                j.move(S.CANCELLED)
                j.completed_at = self.clock
            elif j.attempts < j.max_attempts:
                j.move(S.QUEUED)  # keeping its run_at: its place in line
            else:
                j.move(S.FAILED)
                j.completed_at = self.clock
                assert r.error is not None and "worker lost" in r.error
            assert r.status == j.status

    @rule(age=st.sampled_from([0, 20, 60]))
    def prune(self, age: int) -> None:
        before = self.clock - age
        doomed = {
            j.id for j in self.live() if j.status in TERMINAL and j.completed_at is not None and j.completed_at < before
        }
        self.store.job_prune([PruneRule(status=s, before=before) for s in TERMINAL], batch=2)
        self.gone |= doomed

    # -- checks ---------------------------------------------------------------------

    @invariant()
    def every_job_is_where_the_model_says(self) -> None:
        for job_id, j in self.jobs.items():
            record = self.store.job_get(job_id)
            if job_id in self.gone:
                assert record is None, f"{job_id} should have been deleted"
                continue
            assert record is not None, f"job {job_id} was lost"
            assert (record.status, record.attempts) == (j.status, j.attempts), job_id

    def teardown(self) -> None:
        for job_id, j in self.jobs.items():
            if job_id in self.gone:
                continue
            history = status_history(self.store, job_id)
            for src, dst in itertools.pairwise(history):
                assert JobStatus(dst) in TRANSITIONS[JobStatus(src)], f"{job_id}: {src} -> {dst}"
            assert history == j.history, job_id


def test_random_operations_follow_the_rules(backend: Backend) -> None:
    class Machine(JobMachine):
        store = backend

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=50,
            stateful_step_count=50,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
