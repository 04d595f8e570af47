"""Two apps on one store: a worker claims only jobs of the tasks it has, leaves the rest
waiting for a worker that has them, and says why they wait (job JSON, health)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import offload
from offload.records import JobStatus
from offload.service import JobService
from tests.support.procs import wait_for


@pytest.fixture
def apps(store_url: str) -> Iterator[tuple[offload.App, offload.App]]:
    """Two apps of one project (a web app and a mailer, say) on one store."""
    settings = {"heartbeat_s": 0.1, "lease_s": 5.0, "poll_s": 0.2}
    web, mailer = offload.App(store_url, **settings), offload.App(store_url, **settings)
    workers: list[offload.Worker] = []
    web.started = mailer.started = workers  # type: ignore[attr-defined]
    yield web, mailer
    for w in workers:
        w.stop(grace=0.5, timeout=10)
    web.close()
    mailer.close()


def run_workers(app: offload.App) -> offload.Worker:
    w = app.run_workers(concurrency=2)
    app.started.append(w)  # type: ignore[attr-defined]
    return w


def test_a_worker_leaves_other_apps_jobs_waiting_for_a_worker_that_has_them(
    apps: tuple[offload.App, offload.App],
) -> None:
    web, mailer = apps
    ran: list[str] = []

    @web.task()
    def thumbnail(name: str) -> str:
        ran.append(f"web:{name}")
        return name

    @mailer.task()
    def send_mail(to: str) -> str:
        ran.append(f"mailer:{to}")
        return to

    mails = [mailer.enqueue("send_mail", f"user{i}@example.org") for i in range(3)]  # first in line
    thumbs = [web.enqueue("thumbnail", f"img{i}") for i in range(3)]
    run_workers(web)
    assert [h.wait(10) for h in thumbs] == ["img0", "img1", "img2"]
    assert [web.backend.job_get(h.id).status for h in mails] == [JobStatus.QUEUED] * 3  # not failed

    run_workers(mailer)
    assert [h.wait(10) for h in mails] == [f"user{i}@example.org" for i in range(3)]
    assert sorted(ran) == sorted([f"web:img{i}" for i in range(3)] + [f"mailer:user{i}@example.org" for i in range(3)])
    assert {h.refresh().attempts for h in mails} == {1}  # claimed once, by the worker that has the task


def test_a_waiting_job_says_no_live_worker_serves_its_task(apps: tuple[offload.App, offload.App]) -> None:
    web, mailer = apps
    go = threading.Event()

    @web.task()
    def thumbnail() -> None:
        go.wait(10)

    @mailer.task(queue="mail")
    def send_mail(to: str) -> None: ...

    service = JobService(web)
    mail = mailer.enqueue("send_mail", "a@example.org")
    assert service.waiting_reason(mail.refresh()) == "no live worker serves task 'send_mail'"

    worker = run_workers(web)
    wait_for(lambda: [w.tasks for w in web.backend.worker_list(alive_after=0)] == [["thumbnail"]])
    busy = web.enqueue("thumbnail")
    wait_for(lambda: busy.status() == JobStatus.RUNNING)
    assert service.waiting_reason(busy.refresh()) is None  # running: it waits for nothing
    ok, health = service.health()
    assert ok and health["unserved_tasks"] == ["send_mail"]

    other = mailer.run_workers(concurrency=1, queues=["default"])  # has send_mail, but not its queue
    mailer.started.append(other)  # type: ignore[attr-defined]
    wait_for(
        lambda: service.waiting_reason(mail.refresh()) == "no live worker serves task 'send_mail' on queue 'mail'",
        message="the reason to name the queue (the copy is read again within a second)",
    )

    mail_worker = mailer.run_workers(concurrency=1, queues=["mail"])
    mailer.started.append(mail_worker)  # type: ignore[attr-defined]
    mail.wait(10)
    assert service.waiting_reason(mail.refresh()) is None
    go.set()
    worker.stop(grace=5, timeout=10)
    ok, health = service.health()
    assert health["unserved_tasks"] == []


def test_the_reason_is_read_from_a_copy_of_the_workers_at_most_a_second_old(
    apps: tuple[offload.App, offload.App],
) -> None:
    web, _ = apps

    @web.task()
    def later() -> None: ...

    reads = []
    service = JobService(web)
    read = service.served._read  # noqa: SLF001 - counting the store reads a GET costs
    service.served._read = lambda: reads.append(1) or read()  # type: ignore[method-assign]  # noqa: SLF001
    record = later.enqueue(_delay=60).refresh()
    reasons = {service.waiting_reason(record) for _ in range(1000)}
    assert reasons == {"no live worker serves task 'later'"} and len(reads) == 1
