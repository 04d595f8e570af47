"""What the API says about workers: why a waiting job waits (``waiting_reason``), which
waiting tasks no live worker serves (``/api/health``), and threads stuck on a job that
timed out (``/api/workers``, ``/metrics``, the in-process worker in ``/api/health``)."""

from __future__ import annotations

import httpx

from offload import App
from offload.service import TokenService
from tests.api.conftest import API_APP, FAST_ENV, start_server, submit, wait_status
from tests.support.procs import Procs, wait_for


def test_a_waiting_job_says_why_it_waits(api, user):
    _, c = user()
    waiting = submit(c, "parked")  # its queue is one no test worker serves
    body = c.get(f"/api/jobs/{waiting}").json()
    assert (body["status"], body["waiting_reason"]) == (
        "queued",
        "no live worker serves task 'parked' on queue 'parked'",
    )
    listed = {j["id"]: j for j in c.get("/api/jobs", params={"task": "parked"}).json()["jobs"]}
    assert listed[waiting]["waiting_reason"] == body["waiting_reason"]
    done = wait_status(c, submit(c, "add", 1, 2), {"completed"})
    assert done["waiting_reason"] is None
    health = httpx.get(f"{api.base}/api/health").json()
    assert "parked" in health["unserved_tasks"]


def test_stuck_threads_are_reported_and_their_slot_is_free(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    procs = Procs(tmp_path, url, env={**FAST_ENV, "OFFLOAD_HEARTBEAT_S": "0.2"})
    store = App(url)
    try:
        base = start_server(procs, app=API_APP, extra=("--workers", "1"))
        tokens = TokenService(store)
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens.create('root', admin=True)[1]}"})
        alice = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens.create('alice')[1]}"})
        bob = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens.create('bob')[1]}"})
        stuck = submit(alice, "deaf", 30)
        assert "timed out after 0.5s" in wait_status(alice, stuck, {"failed"})["error"]["message"]
        assert wait_status(alice, submit(alice, "add", 2, 3), {"completed"})["result"] == 5  # the one slot is free

        def workers(client: httpx.Client) -> list[dict]:
            return client.get("/api/workers").json()["workers"]

        wait_for(lambda: [w["stuck"] for w in workers(admin)] == [[stuck]], message="the stuck thread reported")
        assert [(w["stuck"], w["stuck_count"]) for w in workers(alice)] == [([stuck], 1)]  # her job
        assert [(w["stuck"], w["stuck_count"]) for w in workers(bob)] == [([], 1)]  # not his: only counted
        assert "offload_worker_stuck_threads 1" in admin.get("/metrics").text
        in_process = httpx.get(f"{base}/api/health").json()["in_process_worker"]
        assert in_process == {"slots": 1, "running": 0, "stuck": 1, "alive": True}
        for c in (admin, alice, bob):
            c.close()
    finally:
        procs.cleanup()
        store.close()
