"""A worker subprocess runs the demo tasks; the test process follows them through the
store while they run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import offload
from offload import demo
from offload.records import TERMINAL, JobRecord, JobStatus
from offload.task import Task
from tests.support.procs import Procs, wait_for

DEMO_APP = "offload.demo:app"


@pytest.fixture
def demo_app(url: str) -> Iterator[offload.App]:
    """The demo tasks, registered on an App of the test's store."""
    app = offload.App(url)
    for name, task in demo.app.tasks.items():
        app.tasks[name] = Task(app, task.fn, name, task.options)
    try:
        yield app
    finally:
        app.close()


def _finished(app: offload.App, ids: list[str]) -> list[JobRecord] | None:
    records = [app.get_job(i).refresh() for i in ids]
    return records if all(r.status in TERMINAL for r in records) else None


def test_demo_tasks_report_progress_while_running_and_store_results(procs: Procs, demo_app: offload.App) -> None:
    worker = procs.worker("--concurrency", "8", app=DEMO_APP)
    video = demo_app.enqueue("generate_video", "a cat surfing", frames=60, speed=0.05)
    scrape = demo_app.enqueue("scrape", "payback", speed=0.02)
    mails = [demo_app.enqueue("fetch_mail", f"user{i}@example.com", messages=5, speed=0.02) for i in range(3)]
    annotate = demo_app.enqueue("annotate_batch", ["great product", "late"], speed=0.02)
    image = demo_app.enqueue("generate_image", "a lighthouse", steps=5, speed=0.02)

    def seen_running() -> JobRecord | None:
        r = video.refresh()
        assert r.status not in TERMINAL, f"the video job ended before it was seen running: {r}"
        if r.status == JobStatus.RUNNING and 0 < r.progress < 100 and r.messages:
            return r
        return None

    live = wait_for(
        seen_running, 30, interval=0.01, message=lambda: f"video job running with progress\n{worker.tail()}"
    )
    assert live.started_at is not None and live.completed_at is None
    assert live.message and live.message.startswith("Rendering 60 frames")

    ids = [h.id for h in (video, scrape, *mails, annotate, image)]
    records = wait_for(lambda: _finished(demo_app, ids), 60, message=lambda: f"demo jobs to finish\n{worker.tail()}")
    by_id = {r.id: r for r in records}
    assert all(r.status == JobStatus.COMPLETED for r in records), [(r.task, r.status, r.error) for r in records]
    assert all(r.progress == 100 for r in records)

    v = by_id[video.id]
    assert v.result["frames"] == 60 and v.result["output_url"].endswith(".mp4")
    assert [m["message"] for m in v.messages][-1] == "Generating frame 60/60"
    assert v.started_at is not None and v.completed_at is not None and v.completed_at >= v.started_at

    s = by_id[scrape.id]
    assert s.result == {"shop": "payback", "added": sum(3 + p % 4 for p in range(1, 6)), "updated": 5}
    assert [m["message"] for m in s.messages][0] == "Starting payback scraper"
    assert s.message == "Saving offers"

    assert [by_id[m.id].result["fetched"] for m in mails] == [5, 5, 5]
    assert by_id[annotate.id].result == {"labels": {"great product": "negative", "late": "positive"}}
    assert by_id[annotate.id].messages[-1]["message"] == "Annotated 2/2: late"
    assert by_id[image.id].result["output_url"].endswith(".png")
    assert by_id[image.id].message == "Step 5/5"
    assert worker.alive


def test_demo_failing_and_flaky_tasks_end_as_designed(procs: Procs, demo_app: offload.App) -> None:
    worker = procs.worker("--concurrency", "4", app=DEMO_APP)
    broken = demo_app.enqueue("always_fails", reason="the model server answered 500")
    flaky = demo_app.enqueue("flaky")

    records = wait_for(
        lambda: _finished(demo_app, [broken.id, flaky.id]),
        30,
        message=lambda: f"failing and flaky jobs to end\n{worker.tail()}",
    )
    failed, done = records

    assert failed.status == JobStatus.FAILED
    assert failed.attempts == failed.max_attempts == 2
    assert failed.error == "RuntimeError: the model server answered 500"
    assert failed.traceback is not None
    assert "Traceback" in failed.traceback and "always_fails" in failed.traceback
    assert failed.messages[-1]["message"] == "Calling the model server"
    assert failed.completed_at is not None

    assert done.status == JobStatus.COMPLETED
    assert done.attempts == 3
    assert done.result == "ok"
    assert done.error is None
    assert done.message == "Succeeded on attempt 3"
