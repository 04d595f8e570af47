"""A real ``offload serve`` and ``offload worker`` on one SQLite file, behind a front
door (js_support.FrontDoor), for the browser client's tests. The tasks are the API
tests' (tests/api/tasks_api.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from offload import App
from offload.service import TokenService
from tests.api.conftest import free_port
from tests.browser.js_support import PAGES, FrontDoor
from tests.support.procs import PYTHON, Proc, Procs, wait_for

APP = "tests.api.tasks_api:app"
ENV = {"OFFLOAD_API_KEEPALIVE_S": "1", "OFFLOAD_PROGRESS_FLUSH_S": "0.05"}


def _up(proc: Proc, base: str) -> Callable[[], bool]:
    def check() -> bool:
        if not proc.alive:
            raise AssertionError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            httpx.get(base + "/", timeout=1.0)
            return True
        except httpx.TransportError:
            return False

    return check


@dataclass
class Server:
    """``offload serve`` and ``offload worker`` on one SQLite file, behind a front door."""

    procs: Procs
    store: App
    port: int
    extra: tuple[str, ...]
    serve: Proc
    door: FrontDoor
    reader: str | None = None

    @property
    def direct(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self) -> str:
        return TokenService(self.store).create(f"user-{secrets.token_hex(3)}")[1]

    def submit(self, token: str, task: str, *args: Any, **kwargs: Any) -> str:
        with httpx.Client(base_url=self.direct, headers={"Authorization": f"Bearer {token}"}) as c:
            r = c.post("/api/jobs", json={"task": task, "args": list(args), "kwargs": kwargs})
            assert r.status_code == 202, r.text
            job_id: str = r.json()["job_id"]
            return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        """The job as its owner sees it (read with an admin token: the owner's token may
        be out of requests in a rate-limit test)."""
        if self.reader is None:
            self.reader = TokenService(self.store).create("reader", admin=True)[1]
        r = httpx.get(f"{self.direct}/api/jobs/{job_id}", headers={"Authorization": f"Bearer {self.reader}"})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def wait_status(self, job_id: str, status: str) -> dict[str, Any]:
        return wait_for(
            lambda: (j := self.job(job_id))["status"] == status and j,
            timeout=30,
            interval=0.05,
            message=f"job {job_id} {status}",
        )

    def start_serve(self) -> None:
        argv = [PYTHON, "-m", "offload", "serve", "--app", APP, "--port", str(self.port), *self.extra]
        self.serve = self.procs.start(argv, name="serve")
        wait_for(_up(self.serve, self.direct), timeout=20, interval=0.05, message="offload serve answering")

    def restart(self) -> None:
        """Kill ``offload serve`` (every open stream drops) and start it again on its port."""
        self.serve.kill9()
        self.start_serve()


def start_server(workdir: Path, extra: tuple[str, ...] = ()) -> Server:
    url = f"sqlite:///{workdir / 'jobs.db'}"
    procs = Procs(workdir, url, env=ENV)
    store = App(url)
    store.backend  # migrate before the processes start  # noqa: B018
    procs.worker("--concurrency", "4", "--queues", "default", app=APP)
    port = free_port()
    server = Server(procs, store, port, extra, serve=None, door=FrontDoor(port, PAGES))  # type: ignore[arg-type]
    try:
        server.start_serve()
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> None:
    server.door.close()
    server.procs.cleanup()
    server.store.close()


def requests_for(server: Server, job_id: str, what: str) -> list[Any]:
    """The front door's log of the page's requests about one job: ``"events"`` (its
    streams), ``"get"`` (reads of it) or ``"any"``."""
    pattern = {"events": rf"/api/jobs/{job_id}/events", "get": rf"/api/jobs/{job_id}(\?|$)", "any": job_id}[what]
    return server.door.requests(pattern)
