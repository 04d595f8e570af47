"""The framework-neutral core answering plain requests, without a server: what a
page says when a job can't be shown, and when a form's token is wrong."""

from __future__ import annotations

from pathlib import Path

import offload
from offload.crypto import generate_key
from offload.dashboard import Dashboard, Request, Site
from offload.service import Principal

SITE = Site(root="/admin/jobs", events="/admin/jobs/events", job_events="/admin/jobs/jobs/{id}/events")
ADMIN = Principal("root", admin=True)


def _request(path: str, method: str = "GET", form: dict[str, list[str]] | None = None) -> Request:
    return Request(method, path, {}, form or {}, ADMIN, "the-token", SITE)


def _app(url: str, keys: str) -> offload.App:
    app = offload.App(url, encryption_keys=keys)

    @app.task(encrypt=True)
    def secret(job: offload.JobContext, word: str) -> str:
        return word

    return app


def test_an_encrypted_job_without_its_key_is_an_error_page_not_a_crash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    keyed = _app(url, f"k1:{generate_key()}")
    job_id = keyed.get_task("secret").enqueue("hush").id
    shown = Dashboard(keyed).handle(_request(f"/jobs/{job_id}"))
    assert shown.status == 200 and b"hush" in shown.body
    keyless = _app(url, f"k2:{generate_key()}")  # another key: not the one the job was sealed with
    page = Dashboard(keyless).handle(_request(f"/jobs/{job_id}"))
    assert page.status == 500 and b"can&#39;t be shown" in page.body
    assert b"/admin/jobs/assets/dashboard.css" in page.body  # still a page of the dashboard
    keyed.close()
    keyless.close()


def test_a_form_with_a_wrong_token_changes_nothing(tmp_path: Path) -> None:
    app = offload.App(f"sqlite:///{tmp_path / 'jobs.db'}")

    @app.task(queue="mail")
    def fetch(job: offload.JobContext) -> None: ...

    d = Dashboard(app)
    form = {"name": ["mail"], "action": ["pause"], "csrf": ["not-the-token"]}
    assert d.handle(_request("/queues/action", "POST", form)).status == 403
    assert app.backend.queue_paused() == set()
    done = d.handle(_request("/queues/action", "POST", {**form, "csrf": ["the-token"]}))
    assert done.status == 303 and done.headers["Location"] == "/admin/jobs/?done=pause&name=mail"
    assert app.backend.queue_paused() == {"mail"}
    assert d.handle(_request("/queues/action", "GET")).status == 405  # never on GET
    app.close()
