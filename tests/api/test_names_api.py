"""Over HTTP, on each store: text no store can keep (NUL) or that breaks a log line is
refused before the store with 422 (a body field) or 400 (a query parameter), never a
503; users submit only to queues the app declares; options past the bounds of the
settings are refused naming the bound."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from offload import App
from tests.api.conftest import FAST_ENV, ApiServer, start_server, submit
from tests.support.postgres import PostgresCluster
from tests.support.procs import Procs

DECLARED = "default, bulk, parked"  # tasks_api's queues, and one from the queues setting


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """``offload serve`` (no worker: nothing runs) on each store; admins may submit to any
    queue here, users only to declared ones."""
    workdir: Path = tmp_path_factory.mktemp(f"names-{request.param}")
    cluster: PostgresCluster | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'jobs.db'}"
    else:
        cluster = request.getfixturevalue("postgres_server")
        name, url = cluster.acquire_database()
    env = {**FAST_ENV, "OFFLOAD_QUEUES": "bulk", "OFFLOAD_API_ADMIN_ANY_QUEUE": "1"}
    procs = Procs(workdir, url, env=env)
    store = App(url)
    store.backend  # migrate before the server starts  # noqa: B018
    try:
        yield ApiServer(procs, url, start_server(procs), store)
    finally:
        procs.cleanup()
        store.close()
        if cluster is not None:
            cluster.release_database(name)


@pytest.fixture
def clients(server: ApiServer) -> Iterator[Callable[..., httpx.Client]]:
    made: list[httpx.Client] = []

    def make(user: str = "ann", *, admin: bool = False) -> httpx.Client:
        c = server.client(server.token(user, admin=admin))
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def stored(server: ApiServer) -> int:
    return len(server.store.list_jobs(limit=1000))


def refused(r: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    for needle in needles:
        assert needle in error["message"], error
    return error


@pytest.mark.parametrize(
    "body",
    [
        {"task": "add", "args": [1, 2], "queue": "q\u0000"},
        {"task": "add", "args": [1, 2], "unique_key": "a\u0000b"},
        {"task": "add\u0000", "args": [1, 2]},
        {"task": "add", "args": [1, 2], "queue": "a\nb"},
        {"task": "add", "args": [1, 2], "unique_key": "line\nbreak"},
    ],
)
def test_control_characters_in_a_body_are_a_422(
    server: ApiServer, clients: Callable[..., httpx.Client], body: dict[str, Any]
) -> None:
    before = stored(server)
    for c in (clients(), clients("root", admin=True)):
        refused(c.post("/api/jobs", json=body), 422)
    assert stored(server) == before


def test_a_nul_in_a_query_parameter_is_a_400(server: ApiServer, clients: Callable[..., httpx.Client]) -> None:
    c, admin = clients(), clients("root", admin=True)
    for name in ("task", "queue", "owner"):
        refused(c.get("/api/jobs", params={name: "a\x00b"}), 400, name)
    refused(admin.get("/api/stats/tasks", params={"task": "a\x00b"}), 400, "task")
    refused(admin.get("/api/stats/tasks/a%00b/history"), 400, "task")
    refused(admin.post("/api/queues/a%00b/pause"), 400, "queue")
    refused(admin.post("/api/queues/a%0Ab/pause"), 400, "queue")  # a pause must not log two lines
    for path in ("/api/jobs/a%00b", "/api/schedules/a%00b"):  # an id that can't exist: as a missing one
        refused(c.get(path), 404)
        refused(c.delete(path), 404)
    refused(c.post("/api/jobs/a%00b/cancel"), 404)
    refused(c.get("/api/jobs/a%00b/events"), 404)  # refused before the stream opens
    refused(c.post("/api/schedules", json={"task": "add", "args": [1, 2], "interval": 60, "id": "s\u0000"}), 422)
    refused(c.post("/api/schedules", json={"task": "add", "args": [1, 2], "interval": 60, "queue": "q\u0000"}), 422)


def test_users_submit_only_to_declared_queues(server: ApiServer, clients: Callable[..., httpx.Client]) -> None:
    c, admin = clients(), clients("root", admin=True)
    for queue in ("parked", "bulk"):  # a task's queue; one of the queues setting
        assert server.store.get_job(submit(c, "add", 1, 2, queue=queue)).record.queue == queue
    before = stored(server)
    refused(c.post("/api/jobs", json={"task": "add", "args": [1, 2], "queue": "made-up"}), 422, "made-up", DECLARED)
    schedule = {"task": "add", "args": [1, 2], "interval": 60, "queue": "made-up"}
    refused(c.post("/api/schedules", json=schedule), 422, "made-up", DECLARED)
    assert stored(server) == before
    assert c.get("/api/schedules").json()["schedules"] == []
    # OFFLOAD_API_ADMIN_ANY_QUEUE lets admins further, within the character set
    assert server.store.get_job(submit(admin, "add", 1, 2, queue="made-up")).record.queue == "made-up"
    refused(admin.post("/api/jobs", json={"task": "add", "args": [1, 2], "queue": "made up"}), 422, "queue: must be")


@pytest.mark.parametrize(
    ("field", "value", "bound"),
    [
        ("max_attempts", 1_000_000_000, "at most 100 (the max_attempts_limit setting)"),
        ("timeout", 8 * 86400, "at most 604800 seconds (the max_timeout_s setting)"),
        ("delay", 2 * 366 * 86400, "at most 31622400 seconds ahead (the max_delay_s setting)"),
    ],
)
def test_options_past_their_bounds_are_a_422_naming_the_bound(
    server: ApiServer, clients: Callable[..., httpx.Client], field: str, value: int, bound: str
) -> None:
    before = stored(server)
    refused(clients().post("/api/jobs", json={"task": "add", "args": [1, 2], field: value}), 422, bound)
    assert stored(server) == before
    assert submit(clients(), "add", 1, 2, max_attempts=100, timeout=7 * 86400, delay=3600)
