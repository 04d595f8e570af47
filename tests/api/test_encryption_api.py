"""Jobs of a task with encrypt=True over HTTP: a real ``offload serve`` and a real
``offload worker`` with the keys in OFFLOAD_ENCRYPTION_KEYS. The owner (and an admin)
sees plain args and result; another user gets the same 404 as for a missing job; the
store holds only ciphertext; a server without the key answers a plain 500 and stays up."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from offload import App
from offload.crypto import generate_key
from offload.service import TokenService
from tests.api.conftest import FAST_ENV, start_server, wait_status
from tests.api.sse import read_all
from tests.support import rawstore
from tests.support.procs import Procs, wait_for

TASKS = "tests.api.tasks_secret:app"
KEY = generate_key()
KEYS = f"k1:{KEY}"


@dataclass
class Secured:
    url: str
    base: str  # a server with the key
    keyless: str  # a server of the same store with another key only
    store: App
    procs: Procs

    def client(self, base: str, user: str, *, admin: bool = False) -> httpx.Client:
        token = TokenService(self.store).create(user, admin=admin)[1]
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10.0)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    workdir: Path = tmp_path_factory.mktemp("api-encryption")
    url = f"sqlite:///{workdir / 'jobs.db'}"
    procs = Procs(workdir, url, env={**FAST_ENV, "OFFLOAD_ENCRYPTION_KEYS": KEYS})
    store = App(url)
    store.backend  # migrate before the processes start  # noqa: B018
    try:
        procs.worker("--concurrency", "2", app=TASKS)
        base = start_server(procs, app=TASKS)
        keyless = start_server(procs, app=TASKS, env={"OFFLOAD_ENCRYPTION_KEYS": f"other:{generate_key()}"})
        yield Secured(url, base, keyless, store, procs)
    finally:
        procs.cleanup()
        store.close()


def test_the_owner_and_an_admin_see_plain_values_another_user_a_404(secured: Secured) -> None:
    master = f"master-{secrets.token_hex(8)}"
    with (
        secured.client(secured.base, "alice") as alice,
        secured.client(secured.base, "bob") as bob,
        secured.client(secured.base, "root", admin=True) as admin,
    ):
        r = alice.post("/api/jobs", json={"task": "vault", "args": ["alice@example.org", master]})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        body = wait_status(alice, job_id, {"completed", "failed"})

        assert body["status"] == "completed", body
        assert body["args"] == ["alice@example.org", master]
        assert body["result"] == {"account": "alice@example.org", "token": f"token-for-{master}"}
        assert admin.get(f"/api/jobs/{job_id}").json()["args"] == ["alice@example.org", master]
        listed = {j["id"]: j for j in alice.get("/api/jobs").json()["jobs"]}
        assert listed[job_id]["result"]["token"] == f"token-for-{master}"
        final = read_all(alice, f"/api/jobs/{job_id}/events")[-1]
        assert final["event"] == "state" and final["data"]["data"]["args"][1] == master

        theirs, missing = bob.get(f"/api/jobs/{job_id}"), bob.get(f"/api/jobs/{'f' * len(job_id)}")
        assert theirs.status_code == missing.status_code == 404
        assert master not in theirs.text

    stored = rawstore.dump(secured.url)
    for text in (master, f"token-for-{master}", "alice@example.org", KEY):
        assert text.encode() not in stored


def test_a_server_without_the_key_answers_500_without_details_and_stays_up(secured: Secured) -> None:
    master = f"master-{secrets.token_hex(8)}"
    with secured.client(secured.base, "carol") as carol, secured.client(secured.keyless, "carol") as elsewhere:
        job_id = carol.post("/api/jobs", json={"task": "vault", "args": ["carol", master]}).json()["job_id"]
        wait_status(carol, job_id, {"completed"})
        r = elsewhere.get(f"/api/jobs/{job_id}")
        assert r.status_code == 500
        assert r.json() == {"error": {"code": "internal", "message": "internal error; see the server log"}}
        assert elsewhere.get("/api/health").status_code == 200
        assert elsewhere.delete(f"/api/jobs/{job_id}").status_code == 200  # what can't be read can still go
        assert carol.get(f"/api/jobs/{job_id}").status_code == 404
    logs = secured.procs.logs()
    assert f"job {job_id}: cannot decrypt its args: key id 'k1' is not configured" in logs  # for the operator
    assert KEY not in logs and master not in logs


def test_a_server_without_the_key_still_lists_workers_and_their_running_jobs(secured: Secured) -> None:
    with secured.client(secured.base, "dave") as dave, secured.client(secured.keyless, "dave") as elsewhere:
        job_id = dave.post("/api/jobs", json={"task": "hold", "args": ["master"]}).json()["job_id"]
        wait_status(dave, job_id, {"running"})
        try:

            def listed() -> bool:
                r = elsewhere.get("/api/workers")
                assert r.status_code == 200, r.text
                return [job_id] == [j for w in r.json()["workers"] for j in w["running"]]

            wait_for(listed, message="the running job in GET /api/workers")  # workers register every second or so
        finally:
            assert dave.post(f"/api/jobs/{job_id}/cancel").status_code == 200
