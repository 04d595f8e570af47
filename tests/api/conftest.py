"""A real ``offload serve`` process (uvicorn, real HTTP) and a separate ``offload
worker`` process on one SQLite file, shared by the API tests; per-test users with
their own tokens."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from offload import App
from offload.service import TokenService
from tests.support.answers import check_answer
from tests.support.procs import PYTHON, Procs, wait_for

API_APP = "tests.api.tasks_api:app"

# The API tests poll a lot; the rate limit gets a server of its own (test_limits).
FAST_ENV = {"OFFLOAD_API_POLL_RATE": "1000", "OFFLOAD_API_POLL_BURST": "1000", "OFFLOAD_API_KEEPALIVE_S": "0.5"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ApiServer:
    procs: Procs
    url: str  # the store
    base: str  # http://127.0.0.1:port
    store: App

    def token(self, user: str, *, admin: bool = False) -> str:
        return TokenService(self.store).create(user, admin=admin)[1]

    def client(self, token: str | None = None, **kw: Any) -> httpx.Client:
        """A client whose every answer is held to its model (tests/support/answers.py)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        hooks = {"response": [check_answer]}
        return httpx.Client(base_url=self.base, headers=headers, timeout=10.0, event_hooks=hooks, **kw)


def start_server(
    procs: Procs, *, app: str = API_APP, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> str:
    port = free_port()
    argv = [PYTHON, "-m", "offload", "serve", "--app", app, "--port", str(port), *extra]
    proc = procs.start(argv, name="serve", env=env)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if not proc.alive:
            raise AssertionError(f"offload serve exited:\n{proc.tail()}")
        try:
            return httpx.get(f"{base}/api/health", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, timeout=20, interval=0.05, message=lambda: f"offload serve healthy\n{proc.tail()}")
    return base


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    workdir: Path = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{workdir / 'jobs.db'}"
    procs = Procs(workdir, url, env=FAST_ENV)
    store = App(url)
    store.backend  # migrate before the processes start  # noqa: B018
    try:
        procs.supervised_worker("--concurrency", "8", "--queues", "default", app=API_APP)
        base = start_server(procs)
        yield ApiServer(procs, url, base, store)
    finally:
        procs.cleanup()
        store.close()


@pytest.fixture
def user(api: ApiServer) -> Callable[..., tuple[str, httpx.Client]]:
    """``user()`` -> (name, client with a fresh token); ``user(admin=True)`` for admins."""
    clients: list[httpx.Client] = []

    def make(*, admin: bool = False) -> tuple[str, httpx.Client]:
        name = f"{'admin' if admin else 'user'}-{secrets.token_hex(3)}"
        c = api.client(api.token(name, admin=admin))
        clients.append(c)
        return name, c

    yield make
    for c in clients:
        c.close()


def wait_status(client: httpx.Client, job_id: str, statuses: set[str], timeout: float = 15.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        return body if body.get("status") in statuses else None

    return wait_for(done, timeout=timeout, interval=0.05, message=f"job {job_id} in {statuses}")


def submit(client: httpx.Client, task: str, *args: Any, **body: Any) -> str:
    r = client.post("/api/jobs", json={"task": task, "args": list(args), **body})
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    return job_id
