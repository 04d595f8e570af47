"""A page left open across a restart of ``offload serve``: the session survives (it is
derived from the API token, nothing of it lives in the server's memory), the page's
streams reconnect by themselves, and the progress bar goes on moving."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
from playwright.sync_api import expect

from offload import App
from offload.service import TokenService
from tests.api.conftest import free_port
from tests.support.procs import PYTHON, Proc, Procs, wait_for

from .conftest import BROWSER_APP, ENV, progress_of, sign_in


def _serve(procs: Procs, port: int) -> Proc:
    proc = procs.start([PYTHON, "-m", "offload", "serve", "--app", BROWSER_APP, "--port", str(port)], name="serve")

    def healthy() -> bool:
        if not proc.alive:
            raise AssertionError(f"offload serve exited:\n{proc.tail()}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, timeout=20, interval=0.05, message=lambda: f"offload serve healthy\n{proc.tail()}")
    return proc


def test_an_open_page_survives_a_server_restart(tmp_path: Path, contexts) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    procs = Procs(tmp_path, url, env=ENV)
    store = App(url)
    try:
        store.backend  # noqa: B018 - migrate before the processes start
        token = TokenService(store).create("rita")[1]
        procs.worker("--concurrency", "2", app=BROWSER_APP)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = _serve(procs, port)
        page = sign_in(contexts(), base, token)
        r = httpx.post(
            f"{base}/api/jobs",
            json={"task": "steps", "kwargs": {"n": 40, "pause": 0.2}},
            headers={"Authorization": f"Bearer {token}"},
        )
        job_id = r.json()["job_id"]
        page.goto(f"{base}/jobs/{job_id}")
        listing = page.context.new_page()
        listing.goto(f"{base}/jobs")
        expect(listing.locator("#conn")).to_have_attribute("data-state", "live")
        wait_for(lambda: progress_of(page) > 0, timeout=10, message="progress before the restart")
        server.send(signal.SIGKILL)
        server.wait_exit(10)
        expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
        before = progress_of(page)
        _serve(procs, port)
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        wait_for(lambda: progress_of(page) > before, timeout=10, message="progress after the restart")
        expect(listing.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        later = httpx.post(f"{base}/api/jobs", json={"task": "parked"}, headers={"Authorization": f"Bearer {token}"})
        expect(listing.locator(f'tr[data-row="{later.json()["job_id"]}"]')).to_be_visible()  # the list is live again
        expect(page.locator("[data-status]")).to_have_text("completed", timeout=15_000)
        assert page.get_by_role("log").locator("li").count() == 40
        page.goto(f"{base}/jobs")  # still signed in: the cookie outlived the server
        expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    finally:
        procs.cleanup()
        store.close()
