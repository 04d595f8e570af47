"""``isolation="process"``: the task runs in a warm child process, killed at its timeout
(a hard limit); progress, messages, cancellation, Retry, errors and results work as for
a task in a thread. On every store."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from offload import errors
from offload.records import JobStatus
from tests import isolated_tasks as tasks
from tests.support import ledger
from tests.support.procs import pid_alive, wait_for


@pytest.fixture
def app(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[offload.App]:
    monkeypatch.setenv(ledger.ENV, str(tmp_path / "ledger.jsonl"))  # the children inherit it
    app = offload.App(store_url, heartbeat_s=0.1, progress_flush_s=0.05, lease_s=5.0, poll_s=0.2)
    isolated = app.task(isolation="process")
    for fn in (tasks.report, tasks.until_cancelled, tasks.legacy, tasks.not_json):
        isolated(fn)
    app.task(isolation="process", retries=1, backoff=0)(tasks.spin_forever)
    app.task(isolation="process", retries=2)(tasks.flaky)
    app.task(isolation="process", retries=1, backoff=0)(tasks.exit_hard)
    app.task(isolation="process", retries=3, dont_retry_for=(ValueError,))(tasks.broken)
    worker = app.run_workers(concurrency=2)
    yield app
    worker.stop(grace=0.5, timeout=10)
    app.close()


def ledger_path() -> str:
    return os.environ[ledger.ENV]


def test_progress_messages_and_the_result_come_back_from_the_child(app: offload.App) -> None:
    h = app.enqueue("report", 40, pause=0.02)
    seen = wait_for(lambda: (r := h.refresh()).status == JobStatus.RUNNING and 0 < r.progress < 100 and r)
    assert seen.message is not None and seen.message.startswith("step ")
    result = h.wait(15)
    assert result["steps"] == 40 and result["pid"] != os.getpid()
    done = h.refresh()
    assert (done.progress_current, done.progress_total, done.message) == (40, 40, "step 40 of 40")
    assert [m["message"] for m in done.messages] == [f"step {i} of 40" for i in range(1, 41)]
    ledger.check(ledger_path(), [h.id]).assert_ok()


def test_warm_children_are_reused_across_jobs(app: offload.App) -> None:
    handles = [app.enqueue("report", 1) for _ in range(6)]
    pids = {h.wait(15)["pid"] for h in handles}
    assert len(pids) <= 2  # two slots: at most two children, each ran several jobs
    ledger.check(ledger_path(), [h.id for h in handles]).assert_ok()


def test_a_runaway_task_is_killed_at_its_timeout_and_its_child_replaced(app: offload.App) -> None:
    h = app.enqueue("spin_forever", _timeout=1)
    with pytest.raises(errors.JobFailed, match=r"timed out after 1s"):
        h.wait(20)
    record = h.refresh()
    assert record.attempts == 2  # timed out, retried, timed out again
    spinners = [int(m["message"].split()[-1]) for m in record.messages if m["message"].startswith("spinning")]
    assert len(spinners) >= 1
    wait_for(lambda: not any(pid_alive(p) for p in spinners), message="the runaway children to be gone")
    after = app.enqueue("report", 3)
    assert after.wait(15)["pid"] not in spinners  # a fresh child, warm again
    ledger.check(ledger_path(), [after.id]).assert_ok()


def test_cancel_reaches_the_child(app: offload.App) -> None:
    h = app.enqueue("until_cancelled")
    wait_for(lambda: h.refresh().message == "waiting for a cancel")
    h.cancel()
    result = h.wait(15, raise_on_failure=False)
    assert h.refresh().status == JobStatus.CANCELLED
    assert result["stopped_in"] != os.getpid()  # what the run returned is kept


def test_a_callback_style_task_stops_at_its_next_report_after_a_cancel(app: offload.App) -> None:
    h = app.enqueue("legacy", "cat")
    wait_for(lambda: (h.refresh().message or "").startswith("frame"))
    h.cancel()
    assert h.wait(15, raise_on_failure=False) is None
    assert (h.refresh().status, h.refresh().error) == (JobStatus.CANCELLED, "cancelled on request")


def test_retry_from_the_child(app: offload.App) -> None:
    h = app.enqueue("flaky")
    assert h.wait(15) == 2
    statuses = [e.data["status"] for e in app.backend.event_list(job_id=h.id) if e.type == "status"]
    assert statuses == ["queued", "running", "retrying", "running", "completed"]
    assert h.refresh().error is None


def test_an_error_keeps_its_type_message_and_traceback(app: offload.App) -> None:
    h = app.enqueue("broken", 7)
    with pytest.raises(errors.JobFailed, match="ValueError: bad row 7"):
        h.wait(15)
    record = h.refresh()
    assert record.attempts == 1  # dont_retry_for=(ValueError,) holds across the process boundary
    assert record.traceback is not None
    assert "isolated_tasks.py" in record.traceback and 'raise ValueError(f"bad row {row}")' in record.traceback


def test_a_result_that_is_not_json_fails_without_a_retry(app: offload.App) -> None:
    h = app.enqueue("not_json")
    with pytest.raises(errors.JobFailed, match="result of task 'not_json' is not JSON"):
        h.wait(15)


def test_a_child_that_dies_fails_the_attempt_and_the_worker_lives_on(app: offload.App) -> None:
    h = app.enqueue("exit_hard", 3)
    with pytest.raises(errors.JobFailed, match=r"the task's process died \(exit code 3\)"):
        h.wait(20)
    assert h.refresh().attempts == 2
    assert app.enqueue("report", 1).wait(15)["steps"] == 1


def test_only_module_level_sync_functions_can_be_isolated(app: offload.App) -> None:
    def local(job: offload.JobContext) -> None: ...

    async def coro(job: offload.JobContext) -> None: ...

    with pytest.raises(errors.ConfigurationError, match="defined at the top of an importable module"):
        app.task(isolation="process")(local)
    with pytest.raises(errors.ConfigurationError, match="async tasks are cancelled at their timeout"):
        app.task(isolation="process")(coro)
    with pytest.raises(errors.ConfigurationError, match="isolation must be one of thread, process"):
        app.task(isolation="fork")(tasks.report)


def test_an_encrypted_job_runs_isolated_with_its_arguments_decrypted(store_url: str) -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    app = offload.App(store_url, encryption_keys=f"k1:{key}", heartbeat_s=0.1, poll_s=0.2)
    app.task(isolation="process", encrypt=True)(tasks.unlock)
    worker = app.run_workers(concurrency=1)
    try:
        h = app.enqueue("unlock", "s3cret-master-key")
        result = h.wait(20)
        assert result["key_length"] == len("s3cret-master-key") and result["pid"] != os.getpid()
        assert app.backend.job_get(h.id).args.__class__ is str  # stored sealed
    finally:
        worker.stop(grace=0.5, timeout=10)
        app.close()
