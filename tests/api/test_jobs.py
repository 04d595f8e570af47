"""Every job endpoint over real HTTP: answers, the job JSON, and the error statuses."""

from __future__ import annotations

import time

from tests.api.conftest import submit, wait_status

JOB_KEYS = {
    "id",
    "task",
    "queue",
    "status",
    "priority",
    "owner",
    "args",
    "kwargs",
    "progress",
    "progress_current",
    "progress_total",
    "message",
    "messages",
    "result",
    "error",
    "attempts",
    "max_attempts",
    "created_at",
    "run_at",
    "started_at",
    "completed_at",
    "duration",
    "waiting_reason",
}


def test_submit_answers_202_with_location_and_the_job_runs(user):
    name, c = user()
    r = c.post("/api/jobs", json={"task": "add", "args": [2], "kwargs": {"b": 3}})
    assert r.status_code == 202
    body = r.json()
    assert set(body) == {"job_id", "status"} and body["status"] == "queued"
    assert r.headers["location"] == f"/api/jobs/{body['job_id']}"
    job = wait_status(c, body["job_id"], {"completed"})
    assert set(job) == JOB_KEYS
    assert job["owner"] == name and job["result"] == 5 and job["progress"] == 100
    assert job["args"] == [2] and job["kwargs"] == {"b": 3} and job["attempts"] == 1
    for key in ("created_at", "run_at", "started_at", "completed_at"):
        assert job[key].endswith("Z")
    assert isinstance(job["duration"], float) and job["error"] is None


def test_progress_messages_and_error_shape(user):
    _, c = user()
    _, admin = user(admin=True)
    ok = submit(c, "steps", 3, 0.01)
    job = wait_status(c, ok, {"completed"})
    assert [m["message"] for m in job["messages"]] == ["step 1/3", "step 2/3", "step 3/3"]
    assert job["message"] == "step 3/3" and job["progress_current"] == 3 and job["progress_total"] == 3
    bad = submit(c, "boom", "nope")
    failed = wait_status(c, bad, {"failed"})
    assert failed["error"]["message"].endswith("nope") and "traceback" not in failed["error"]
    as_admin = admin.get(f"/api/jobs/{bad}").json()
    assert "RuntimeError" in as_admin["error"]["traceback"]


def test_options_delay_run_at_priority_queue(user):
    _, c = user()
    r = c.post("/api/jobs", json={"task": "parked", "delay": 3600, "priority": 7, "max_attempts": 3, "timeout": 9})
    assert r.json()["status"] == "scheduled"
    job = c.get(r.headers["location"]).json()
    assert job["status"] == "scheduled" and job["priority"] == 7 and job["max_attempts"] == 3
    at = time.time() + 7200
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
    for run_at in (iso, iso + "+00:00", at):
        job_id = c.post("/api/jobs", json={"task": "parked", "run_at": run_at}).json()["job_id"]
        assert (
            abs(
                time.mktime(time.strptime(c.get(f"/api/jobs/{job_id}").json()["run_at"][:19], "%Y-%m-%dT%H:%M:%S"))
                - time.mktime(time.gmtime(at))
            )
            < 2
        )
    queued = submit(c, "add", 1, 1, queue="parked")
    assert c.get(f"/api/jobs/{queued}").json()["queue"] == "parked"


def test_idempotency_key_returns_the_same_job(user):
    _, c = user()
    _, other = user()
    headers = {"Idempotency-Key": "order-42"}
    first = c.post("/api/jobs", json={"task": "parked"}, headers=headers)
    again = c.post("/api/jobs", json={"task": "parked"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["job_id"] == again.json()["job_id"]
    assert again.headers["idempotent-replayed"] == "true"
    # the same key from another user is another job: keys are per owner
    theirs = other.post("/api/jobs", json={"task": "parked"}, headers=headers).json()["job_id"]
    assert theirs != first.json()["job_id"]


def test_unique_key_is_per_owner(user):
    _, a = user()
    _, b = user()
    one = submit(a, "parked", unique_key="sync")
    assert submit(a, "parked", unique_key="sync") == one
    assert submit(b, "parked", unique_key="sync") != one


def test_list_filters_and_cursor_pages(user):
    _, c = user()
    ids = [submit(c, "parked", n) for n in range(5)]
    done = submit(c, "add", 1, 2)
    wait_status(c, done, {"completed"})
    page = c.get("/api/jobs", params={"limit": 2, "task": "parked"}).json()
    assert [j["id"] for j in page["jobs"]] == ids[::-1][:2]
    seen = [j["id"] for j in page["jobs"]]
    while page["next_cursor"]:
        page = c.get("/api/jobs", params={"limit": 2, "task": "parked", "cursor": page["next_cursor"]}).json()
        seen += [j["id"] for j in page["jobs"]]
    assert seen == ids[::-1]
    assert [j["id"] for j in c.get("/api/jobs", params={"status": "completed"}).json()["jobs"]] == [done]
    assert len(c.get("/api/jobs", params={"queue": "parked"}).json()["jobs"]) == 5
    assert c.get("/api/jobs").json()["next_cursor"] is None


def test_cancel_retry_delete_and_409(user):
    _, c = user()
    job_id = submit(c, "parked")
    assert c.delete(f"/api/jobs/{job_id}").status_code == 409  # still waiting
    assert c.post(f"/api/jobs/{job_id}/retry").status_code == 409
    r = c.post(f"/api/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    again = c.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    r = c.post(f"/api/jobs/{job_id}/retry")
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["attempts"] == 0
    c.post(f"/api/jobs/{job_id}/cancel")
    r = c.delete(f"/api/jobs/{job_id}")
    assert r.status_code == 200 and r.json() == {"job_id": job_id, "deleted": True}
    assert c.get(f"/api/jobs/{job_id}").status_code == 404
    done = submit(c, "add", 1, 1)
    wait_status(c, done, {"completed"})
    assert c.post(f"/api/jobs/{done}/cancel").status_code == 409
    assert c.post(f"/api/jobs/{done}/retry").status_code == 409


def test_cancel_a_running_job(user):
    _, c = user()
    job_id = submit(c, "steps", 50, 0.1)
    wait_status(c, job_id, {"running"})
    r = c.post(f"/api/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "running"  # asked; the worker decides
    # steps never checks for cancellation, so it finishes; the request itself was accepted


def test_bad_input_statuses(user, api):
    _, c = user()

    def err(r, status, code=None):
        assert r.status_code == status, r.text
        assert set(r.json()) == {"error"} and set(r.json()["error"]) == {"code", "message"}
        if code:
            assert r.json()["error"]["code"] == code

    raw = {"Content-Type": "application/json"}
    err(c.post("/api/jobs", content=b"{not json", headers=raw), 400, "bad_request")
    err(c.post("/api/jobs", content=b"", headers=raw), 400)
    err(c.post("/api/jobs", json={"task": "nope"}), 422, "unknown_task")
    err(c.post("/api/jobs", json={"task": "add", "args": [1]}), 422, "invalid_arguments")
    err(c.post("/api/jobs", json={"task": "add", "args": [1, 2], "kwargs": {"c": 3}}), 422, "invalid_arguments")
    err(c.post("/api/jobs", json={"task": "add", "args": [1, 2], "priority": "high"}), 422)
    err(c.post("/api/jobs", json={"task": "add", "args": [1, 2], "delay": -1}), 422)
    err(c.post("/api/jobs", json={"task": "add", "args": [1, 2], "run_at": "tomorrow"}), 422)
    err(c.post("/api/jobs", json={"task": "add", "args": [1, 2], "max_attempts": 0}), 422)
    err(c.post("/api/jobs", json={"task": "add", "args": [1, 2], "surprise": 1}), 422)
    err(c.post("/api/jobs", json=["add"]), 422)
    err(c.post("/api/jobs", json={"task": 7}), 422)
    err(c.post("/api/jobs", json={"task": "add", "args": "1,2"}), 422)
    err(c.get("/api/jobs", params={"status": "sleeping"}), 400)
    err(c.get("/api/jobs", params={"limit": "lots"}), 400)
    err(c.get("/api/jobs", params={"limit": 0}), 400)
    err(c.get("/api/jobs/does-not-exist"), 404, "not_found")
    err(c.post("/api/jobs/does-not-exist/cancel"), 404)
    err(c.get("/api/nothing-here"), 404)
    err(c.put("/api/jobs"), 405)
    err(c.post("/api/jobs", json={"task": "parked"}, headers={"Idempotency-Key": "x" * 500}), 400)


def test_queues_pause_resume_and_workers(user):
    _, c = user()
    _, admin = user(admin=True)
    submit(c, "parked")
    queues = {q["name"]: q for q in c.get("/api/queues").json()["queues"]}
    assert queues["parked"]["counts"]["queued"] >= 1 and queues["parked"]["paused"] is False
    assert c.post("/api/queues/default/pause").status_code == 403
    assert admin.post("/api/queues/extra/pause").json() == {"name": "extra", "paused": True}
    assert {q["name"]: q["paused"] for q in c.get("/api/queues").json()["queues"]}["extra"] is True
    assert admin.post("/api/queues/extra/resume").json() == {"name": "extra", "paused": False}
    workers = c.get("/api/workers").json()["workers"]
    assert len(workers) >= 1
    w = workers[0]
    assert {"host", "pid", "queues", "running", "last_heartbeat", "concurrency"} <= set(w)
    assert w["queues"] == ["default"] and w["concurrency"] == 8


def test_health_metrics_and_static(user, api):
    import httpx

    r = httpx.get(f"{api.base}/api/health")
    assert r.status_code == 200 and r.json()["backend"]["ok"] is True and r.json()["workers"]["alive"] >= 1
    _, c = user()
    _, admin = user(admin=True)
    assert c.get("/metrics").status_code == 403
    text = admin.get("/metrics")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert 'offload_jobs{queue="default",status="completed"}' in text.text and "offload_workers " in text.text
    js = httpx.get(f"{api.base}/static/offload.js")
    assert js.status_code == 200 and "watch" in js.text
    spec = c.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/jobs/{job_id}" in spec["paths"]


def test_tokens_cli_create_list_revoke(api):
    out = api.procs.cli("tokens", "create", "--user", "carol")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    with api.client(token) as c:
        assert c.get("/api/jobs").status_code == 200
        listing = api.procs.cli("tokens", "list")
        token_id = next(line.split()[1] for line in listing.stdout.splitlines() if "carol" in line)
        assert api.procs.cli("tokens", "revoke", token_id).returncode == 0
        r = c.get("/api/jobs")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert api.procs.cli("tokens", "revoke", "nope").returncode != 0
