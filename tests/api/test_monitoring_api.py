"""Monitoring over real HTTP: per-task statistics and history after jobs ran in the
separate worker process (admins only), recent failures filtered per user, who may
read what, and every error status (429 on a rate-limited server of its own)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import start_server, submit, wait_status
from tests.support.procs import Procs, wait_for

STATS_KEYS = {
    "task",
    "total",
    "succeeded",
    "failed",
    "cancelled",
    "total_duration",
    "avg_duration",
    "p95_duration",
    "last_run_at",
    "last_status",
}
RUN_KEYS = {"job_id", "status", "started_at", "completed_at", "duration", "attempts", "error"}
FAILURE_KEYS = {"job_id", "task", "queue", "error", "attempts", "failed_at", "owner"}
WHO = ("a", "b", "admin", "none", "bad")


def tally_stats(admin: httpx.Client) -> dict:
    r = admin.get("/api/stats/tasks", params={"task": "tally"})
    assert r.status_code == 200, r.text
    tasks = r.json()["tasks"]
    assert len(tasks) <= 1
    return tasks[0] if tasks else dict.fromkeys(("total", "succeeded", "failed", "cancelled"), 0)


def test_stats_and_history_after_jobs_ran_in_the_worker(user):
    _, c = user()
    _, admin = user(admin=True)
    before = tally_stats(admin)
    ok = [submit(c, "tally", True, 0.05) for _ in range(3)]
    bad = submit(c, "tally", False)
    for job_id in ok:
        wait_status(c, job_id, {"completed"})
    wait_status(c, bad, {"failed"})

    def counted() -> dict | None:  # counters are written with the job's end
        now = tally_stats(admin)
        return now if now["total"] - before["total"] == 4 else None

    now = wait_for(counted, timeout=10, message="the tally counters")
    assert set(now) == STATS_KEYS and now["task"] == "tally"
    assert now["succeeded"] - before["succeeded"] == 3 and now["failed"] - before["failed"] == 1
    assert now["cancelled"] == before["cancelled"]
    assert now["total_duration"] >= 0.15 and now["avg_duration"] > 0
    assert 0.05 <= now["p95_duration"] < 10
    assert now["last_run_at"].endswith("Z") and now["last_status"] in ("completed", "failed")
    everything = admin.get("/api/stats/tasks").json()["tasks"]
    assert "tally" in {t["task"] for t in everything} and all(set(t) == STATS_KEYS for t in everything)
    assert admin.get("/api/stats/tasks", params={"task": "never-ran"}).json() == {"tasks": []}

    history = admin.get("/api/stats/tasks/tally/history", params={"limit": 4})
    assert history.status_code == 200
    body = history.json()
    assert body["task"] == "tally" and len(body["runs"]) == 4
    runs = body["runs"]
    assert all(set(r) == RUN_KEYS for r in runs)
    assert {r["job_id"] for r in runs} == {*ok, bad}
    assert [r["completed_at"] for r in runs] == sorted((r["completed_at"] for r in runs), reverse=True)
    failed = next(r for r in runs if r["job_id"] == bad)
    assert failed["status"] == "failed" and "tally told to fail" in failed["error"] and failed["attempts"] == 1
    assert all(r["status"] == "completed" and r["duration"] >= 0.05 for r in runs if r["job_id"] != bad)
    assert len(admin.get("/api/stats/tasks/tally/history", params={"limit": 1}).json()["runs"]) == 1
    assert admin.get("/api/stats/tasks/never-ran/history").json() == {"task": "never-ran", "runs": []}


def test_failures_are_filtered_per_user(user):
    name_a, a = user()
    name_b, b = user()
    _, admin = user(admin=True)
    mine = submit(a, "boom", "a's failure")
    theirs = submit(b, "boom", "b's failure")
    fine = submit(a, "add", 1, 1)
    for client, job_id, status in ((a, mine, "failed"), (b, theirs, "failed"), (a, fine, "completed")):
        wait_status(client, job_id, {status})

    seen_a = a.get("/api/failures").json()["failures"]
    assert [f["job_id"] for f in seen_a] == [mine]  # a fresh user: their one failure, nothing else
    f = seen_a[0]
    assert set(f) == FAILURE_KEYS and f["owner"] == name_a and f["task"] == "boom" and f["queue"] == "default"
    assert f["error"].endswith("a's failure") and f["attempts"] == 1 and f["failed_at"].endswith("Z")
    assert [f["job_id"] for f in b.get("/api/failures").json()["failures"]] == [theirs]
    every = {f["job_id"]: f for f in admin.get("/api/failures", params={"limit": 1000}).json()["failures"]}
    assert every[mine]["owner"] == name_a and every[theirs]["owner"] == name_b and fine not in every
    failed_at = [f["failed_at"] for f in every.values()]
    assert failed_at == sorted(failed_at, reverse=True)  # newest first

    # limit, and hours: a failure ages out of a short window
    another = submit(a, "boom", "again")
    wait_status(a, another, {"failed"})
    assert [f["job_id"] for f in a.get("/api/failures", params={"limit": 1}).json()["failures"]] == [another]
    assert len(a.get("/api/failures", params={"limit": 5, "hours": 1}).json()["failures"]) == 2
    wait_for(
        lambda: a.get("/api/failures", params={"hours": 0.0003}).json()["failures"] == [],  # about a second
        timeout=10,
        message="failures older than the window to drop out",
    )
    assert len(a.get("/api/failures", params={"hours": 0.5}).json()["failures"]) == 2


@pytest.fixture
def world(api, user):
    _, a = user()
    _, b = user()
    _, admin = user(admin=True)
    clients = {"a": a, "b": b, "admin": admin, "none": api.client(None), "bad": api.client("off_not-a-real-token")}
    yield clients
    for key in ("none", "bad"):
        clients[key].close()


MATRIX = [
    ("/api/stats/tasks", (403, 403, 200, 401, 401)),
    ("/api/stats/tasks?task=add", (403, 403, 200, 401, 401)),
    ("/api/stats/tasks/add/history", (403, 403, 200, 401, 401)),
    ("/api/stats/tasks/add/history?limit=lots", (403, 403, 400, 401, 401)),  # 403 before looking at parameters
    ("/api/failures", (200, 200, 200, 401, 401)),
    ("/api/failures?hours=2&limit=3", (200, 200, 200, 401, 401)),
]


@pytest.mark.parametrize(("path", "expected"), MATRIX, ids=[p for p, _ in MATRIX])
def test_matrix(world, path, expected):
    for who, want in zip(WHO, expected, strict=True):
        r = world[who].get(path)
        assert r.status_code == want, (who, path, r.text)
        if want >= 400:
            assert set(r.json()["error"]) == {"code", "message"}
        if want == 403:
            assert r.json()["error"]["code"] == "forbidden"
        if want == 401:
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_bad_parameters_are_400_like_the_job_list(world):
    admin, a = world["admin"], world["a"]

    def err(r, status=400, code="bad_request"):
        assert r.status_code == status, r.text
        assert set(r.json()) == {"error"} and r.json()["error"]["code"] == code

    assert a.get("/api/jobs", params={"limit": "lots"}).status_code == 400  # the convention followed
    for client in (admin, a):
        for params in (
            {"limit": "lots"},
            {"limit": 0},
            {"limit": -1},
            {"limit": 1001},
            {"limit": "1.5"},
            {"hours": "abc"},
            {"hours": 0},
            {"hours": -2},
            {"hours": "nan"},
            {"hours": "inf"},
            {"hours": 10**6},
        ):
            err(client.get("/api/failures", params=params))
    for params in ({"limit": "lots"}, {"limit": 0}, {"limit": 5000}):
        err(admin.get("/api/stats/tasks/add/history", params=params))
    err(admin.get("/api/stats/tasks", params={"task": "t" * 300}))
    err(admin.get(f"/api/stats/tasks/{'t' * 300}/history"))
    err(admin.post("/api/stats/tasks"), 405, "method_not_allowed")
    err(admin.delete("/api/failures"), 405, "method_not_allowed")
    err(admin.get("/api/stats/tasks/add"), 404, "not_found")


def test_rate_limit_applies_to_the_new_endpoints(tmp_path, api):
    procs = Procs(tmp_path, api.url, env={"OFFLOAD_API_POLL_RATE": "1", "OFFLOAD_API_POLL_BURST": "3"})
    try:
        base = start_server(procs)
        token = api.token("rate-monitor", admin=True)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            for path in ("/api/schedules", "/api/stats/tasks", "/api/stats/tasks/add/history", "/api/failures"):
                answers = [c.get(path) for _ in range(6)]
                limited = [r for r in answers if r.status_code == 429]
                assert limited, (path, [r.status_code for r in answers])
                assert int(limited[0].headers["retry-after"]) >= 1
                assert limited[0].json()["error"]["code"] == "rate_limited"
            posted = c.post("/api/schedules", json={"task": "parked", "interval": 3600})
            assert posted.status_code == 429
    finally:
        procs.cleanup()
