"""Status GETs of a real ``offload serve`` on PostgreSQL, answered on the event loop
(the token and the job in one round trip): the same answers as everywhere else — who
may see what, unknown and revoked tokens, the rate limit — and 503 while the server is
down, then 200 again without a restart of the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from offload import App
from offload.service import TokenService
from tests.api.conftest import API_APP, start_server, submit
from tests.support.postgres import PostgresCluster
from tests.support.procs import Procs, wait_for


@pytest.fixture
def store(postgres_url: str) -> Iterator[App]:
    app = App(postgres_url)
    app.backend.migrate()
    yield app
    app.close()


def _get(base: str, token: str | None, job_id: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{base}/api/jobs/{job_id}", headers=headers, timeout=10)


def test_status_reads_check_the_token_and_the_owner(tmp_path: Path, postgres_url: str, store: App) -> None:
    procs = Procs(tmp_path, postgres_url, env={"OFFLOAD_API_POLL_RATE": "0"})
    tokens = TokenService(store)
    alice_token, alice = tokens.create("alice")
    bob = tokens.create("bob")[1]
    admin = tokens.create("root", admin=True)[1]
    try:
        base = start_server(procs, app=API_APP)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {alice}"}) as c:
            job_id = submit(c, "add", 1, 2)
        mine = _get(base, alice, job_id)
        assert mine.status_code == 200, mine.text
        assert mine.json()["id"] == job_id and mine.json()["owner"] == "alice"
        assert mine.json()["status"] == "queued"
        assert _get(base, admin, job_id).json()["owner"] == "alice"  # admins see every job
        for token, path in ((bob, job_id), (alice, "0" * 26), (alice, "x" * 65)):
            answer = _get(base, token, path)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", answer.text
        for token in (None, "off_unknown", "x" * 300):
            answer = _get(base, token, job_id)
            assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer"), answer.text
        bad_scheme = httpx.get(f"{base}/api/jobs/{job_id}", headers={"Authorization": f"Basic {alice}"})
        assert bad_scheme.status_code == 401
        assert tokens.revoke(alice_token.id)
        assert _get(base, alice, job_id).status_code == 401  # refused from the next request on
    finally:
        procs.cleanup()


def test_status_reads_count_against_the_rate_limit(tmp_path: Path, postgres_url: str, store: App) -> None:
    procs = Procs(tmp_path, postgres_url, env={"OFFLOAD_API_POLL_RATE": "2", "OFFLOAD_API_POLL_BURST": "3"})
    token = TokenService(store).create("carol")[1]
    try:
        base = start_server(procs, app=API_APP)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            job_id = submit(c, "add", 1, 2)
            answers = [c.get(f"/api/jobs/{job_id}") for _ in range(8)]
        assert [a.status_code for a in answers].count(429) >= 4
        limited = next(a for a in answers if a.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1
    finally:
        procs.cleanup()


def test_status_reads_answer_503_while_the_server_is_down_then_recover(
    tmp_path: Path, server: PostgresCluster, postgres_url: str, store: App
) -> None:
    procs = Procs(tmp_path, postgres_url, env={"OFFLOAD_API_POLL_RATE": "0"})
    token = TokenService(store).create("dave")[1]
    try:
        base = start_server(procs, app=API_APP)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            job_id = submit(c, "add", 1, 2)
        assert _get(base, token, job_id).status_code == 200
        server.stop()
        try:
            down = _get(base, token, job_id)
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] in ("unavailable", "store_error")
        finally:
            server.start()
        wait_for(lambda: _get(base, token, job_id).status_code == 200, timeout=30, message="200 again")
    finally:
        procs.cleanup()
