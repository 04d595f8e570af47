"""Chromium driven by Playwright against a real ``offload serve`` and a separate
``offload worker`` process (one pair per test module), and screenshots as artifacts.

The browser is Debian's chromium, launched by its path (scripts/setup installs it).
Screenshots go to ``$OFFLOAD_SCREENSHOTS`` when set, else to a folder under pytest's
temporary directory; the path is printed at the end of the run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from offload import App
from offload.service import TokenService
from tests.api.conftest import start_server
from tests.support.procs import Procs, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BROWSER_APP = "tests.browser.tasks_browser:app"
ENV = {"OFFLOAD_API_KEEPALIVE_S": "1", "OFFLOAD_PROGRESS_FLUSH_S": "0.05"}


# Package scope, not session: while Playwright's sync API is open, the main thread has
# a running event loop, and asyncio.run() in any later test would fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go."""
    folder = os.environ.get("OFFLOAD_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Served:
    """A running offload serve + worker pair, and tokens for its users."""

    procs: Procs
    base: str
    store: App
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: str, *, admin: bool = False) -> str:
        if user not in self.tokens:
            self.tokens[user] = TokenService(self.store).create(user, admin=admin)[1]
        return self.tokens[user]

    def api(self, user: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.tokens[user]}"}, timeout=10)

    def submit(self, user: str, task: str, *args: Any, **body: Any) -> str:
        with self.api(user) as c:
            r = c.post("/api/jobs", json={"task": task, "args": list(args), **body})
            assert r.status_code == 202, r.text
            job_id: str = r.json()["job_id"]
            return job_id

    def job(self, user: str, job_id: str) -> dict[str, Any]:
        with self.api(user) as c:
            body: dict[str, Any] = c.get(f"/api/jobs/{job_id}").json()
            return body

    def wait_status(self, user: str, job_id: str, statuses: set[str], timeout: float = 15.0) -> dict[str, Any]:
        return wait_for(
            lambda: (j := self.job(user, job_id))["status"] in statuses and j,
            timeout=timeout,
            interval=0.05,
            message=f"job {job_id} in {statuses}",
        )


def serve_and_work(workdir: Path, *, extra: tuple[str, ...] = ()) -> tuple[Procs, str, App]:
    url = f"sqlite:///{workdir / 'jobs.db'}"
    procs = Procs(workdir, url, env=ENV)
    store = App(url)
    store.backend  # migrate before the processes start  # noqa: B018
    procs.worker("--concurrency", "4", "--queues", "default", app=BROWSER_APP)
    base = start_server(procs, app=BROWSER_APP, extra=extra)
    return procs, base, store


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    procs, base, store = serve_and_work(tmp_path_factory.mktemp("browser"))
    try:
        s = Served(procs, base, store)
        s.token("root", admin=True)
        yield s
    finally:
        procs.cleanup()
        store.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """``contexts(**options)``: a fresh browser context (cookies of its own), closed after the test."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        ctx = browser.new_context(**options)
        ctx.set_default_timeout(10_000)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def sign_in(ctx: BrowserContext, base: str, token: str) -> Page:
    """Sign in through the sign-in link (``/sign-in#token=...``); the page lands on the overview."""
    page = ctx.new_page()
    page.goto(f"{base}/sign-in#token={token}")
    page.wait_for_url(lambda u: "/sign-in" not in u)
    return page


def fresh_user(served: Served, *, admin: bool = False) -> str:
    name = f"{'admin' if admin else 'user'}-{secrets.token_hex(3)}"
    served.token(name, admin=admin)
    return name


def progress_of(page: Page) -> float:
    value = page.get_attribute('[role="progressbar"]', "aria-valuenow")
    return float(value or 0)
