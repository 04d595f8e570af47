"""Schedules over real HTTP: create, list, get, pause, resume, run, delete; a schedule
fired by the separate worker process makes jobs owned by the schedule's owner; who
may see and touch which schedule; every error status."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.api.conftest import wait_status
from tests.support.procs import wait_for

SCHEDULE_KEYS = {
    "id",
    "task",
    "args",
    "kwargs",
    "cron",
    "interval",
    "timezone",
    "paused",
    "next_run_at",
    "last_run_at",
    "queue",
    "priority",
    "owner",
}
WHO = ("a", "b", "admin", "none", "bad")


def stored_id(user: str, schedule_id: str) -> str:
    """How a user's schedule id is stored: in the user's namespace (see Principal.scoped)."""
    return f"{len(user)}:{user}:{schedule_id}"


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def create(client, **body):
    r = client.post("/api/schedules", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_list_get_pause_resume_run_delete(user):
    name, c = user()
    r = c.post(
        "/api/schedules",
        json={
            "task": "add",
            "args": [1],
            "kwargs": {"b": 2},
            "cron": "0 3 * * *",
            "timezone": "Europe/Berlin",
            "id": "nightly",
        },
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert set(s) == SCHEDULE_KEYS
    assert r.headers["location"] == "/api/schedules/nightly"
    assert s["id"] == "nightly" and s["owner"] == name and s["task"] == "add"
    assert s["args"] == [1] and s["kwargs"] == {"b": 2} and s["cron"] == "0 3 * * *" and s["interval"] is None
    assert s["paused"] is False and s["last_run_at"] is None and s["queue"] is None and s["priority"] is None
    assert s["next_run_at"].endswith("Z")
    local = parse(s["next_run_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (3, 0)  # a wall time in the schedule's timezone

    assert c.get("/api/schedules").json() == {"schedules": [s]}
    assert c.get("/api/schedules/nightly").json() == s

    paused = c.post("/api/schedules/nightly/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert c.get("/api/schedules").json()["schedules"][0]["paused"] is True
    resumed = c.post("/api/schedules/nightly/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    assert parse(resumed.json()["next_run_at"]) > datetime.now(ZoneInfo("UTC"))

    run = c.post("/api/schedules/nightly/run")
    assert run.status_code == 202, run.text
    assert set(run.json()) == {"job_id", "status"} and run.json()["status"] == "queued"
    assert run.headers["location"] == f"/api/jobs/{run.json()['job_id']}"
    job = wait_status(c, run.json()["job_id"], {"completed"})
    assert job["owner"] == name and job["result"] == 3 and job["task"] == "add"

    # posting the same id again replaces the schedule: 200, not a second one
    again = c.post("/api/schedules", json={"task": "add", "args": [5, 5], "interval": 3600, "id": "nightly"})
    assert again.status_code == 200, again.text
    assert again.json()["interval"] == 3600 and again.json()["cron"] is None and again.json()["args"] == [5, 5]
    assert len(c.get("/api/schedules").json()["schedules"]) == 1

    gone = c.delete("/api/schedules/nightly")
    assert gone.status_code == 200 and gone.json() == {"id": "nightly", "deleted": True}
    assert c.get("/api/schedules").json() == {"schedules": []}
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"), ("POST", "/run")):
        assert c.request(method, f"/api/schedules/nightly{path}").status_code == 404


def test_options_and_generated_ids(user):
    _, c = user()
    s = create(c, task="parked", interval=7200, queue="parked", priority=4, timezone="America/New_York")
    assert len(s["id"]) == 16 and s["queue"] == "parked" and s["priority"] == 4 and s["timezone"] == "America/New_York"
    job_id = c.post(f"/api/schedules/{s['id']}/run").json()["job_id"]
    job = c.get(f"/api/jobs/{job_id}").json()
    assert job["queue"] == "parked" and job["priority"] == 4 and job["status"] == "queued"
    assert create(c, task="echo", cron="@daily")["cron"] == "@daily"
    assert len(c.get("/api/schedules").json()["schedules"]) == 2
    c.post(f"/api/jobs/{job_id}/cancel")


def test_an_interval_schedule_fired_by_the_worker_makes_jobs_of_its_owner(user):
    name, a = user()
    _, b = user()
    _, admin = user(admin=True)
    value = secrets.token_hex(4)
    s = create(a, task="echo", kwargs={"value": value}, interval=1, id="every-second")

    def fired_jobs(client, **params):
        jobs = client.get("/api/jobs", params={"task": "echo", "limit": 500, **params}).json()["jobs"]
        return [j for j in jobs if j["kwargs"] == {"value": value}]

    def two_completed():
        done = [j for j in fired_jobs(a) if j["status"] == "completed"]
        return done if len(done) >= 2 else None

    done = wait_for(two_completed, timeout=20, interval=0.2, message="two firings run by the worker")
    assert all(j["owner"] == name and j["result"] == value for j in done)
    assert fired_jobs(b) == []  # another user doesn't see them
    assert {j["owner"] for j in fired_jobs(admin, owner=name)} == {name}
    mine = a.get("/api/schedules/every-second").json()
    assert mine["last_run_at"] is not None and parse(mine["next_run_at"]) > parse(mine["last_run_at"])

    # paused, it stops firing (a firing already under way may still land)
    assert a.post("/api/schedules/every-second/pause").json()["paused"] is True
    settled = len(fired_jobs(a))
    time.sleep(2.5)  # nothing to wait for: several scheduler ticks (OFFLOAD_SCHEDULER_S = 1 s) that must not fire
    assert len(fired_jobs(a)) <= settled + 1
    assert a.delete("/api/schedules/every-second").status_code == 200
    assert s["owner"] == name


@pytest.fixture
def world(api, user):
    name_a, a = user()
    name_b, b = user()
    _, admin = user(admin=True)
    clients = {"a": a, "b": b, "admin": admin, "none": api.client(None), "bad": api.client("off_not-a-real-token")}
    yield {"clients": clients, "a": a, "b": b, "admin": admin, "user_a": name_a, "user_b": name_b}
    for key in ("none", "bad"):
        clients[key].close()


# method, path (after /api/schedules), expected statuses for (a, b, admin, none, bad).
# {id} is A's schedule as each caller names it: "mine" for A and B (for B it names
# nothing of theirs), the stored id for the admin.
MATRIX = [
    ("GET", "", (200, 200, 200, 401, 401)),
    ("POST", "", (201, 201, 201, 401, 401)),
    ("GET", "/{id}", (200, 404, 200, 401, 401)),
    ("POST", "/{id}/pause", (200, 404, 200, 401, 401)),
    ("POST", "/{id}/resume", (200, 404, 200, 401, 401)),
    ("POST", "/{id}/run", (202, 404, 202, 401, 401)),
    ("DELETE", "/{id}", (200, 404, 200, 401, 401)),
]


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX, ids=[f"{m} {p or '/'}" for m, p, _ in MATRIX])
def test_matrix(world, method, path, expected):
    a = world["a"]
    for who, want in zip(WHO, expected, strict=True):
        made = a.post("/api/schedules", json={"task": "parked", "cron": "0 4 * * *", "id": "mine"})
        assert made.status_code in (200, 201), made.text  # (re)made for every caller
        stored = stored_id(world["user_a"], "mine")
        url = "/api/schedules" + path.format(id=stored if who == "admin" else "mine")
        body = {"json": {"task": "parked", "interval": 3600}} if method == "POST" and path == "" else {}
        r = world["clients"][who].request(method, url, **body)
        assert r.status_code == want, (who, method, url, r.text)
        if want >= 400:
            assert set(r.json()["error"]) == {"code", "message"}
        if want == 401:
            assert r.headers["www-authenticate"].startswith("Bearer")
        if path == "/{id}/run" and want == 202:
            job = a.get(f"/api/jobs/{r.json()['job_id']}").json()
            assert job["owner"] == world["user_a"]  # fired for the schedule's owner, whoever asked
            a.post(f"/api/jobs/{job['id']}/cancel")


def test_users_see_only_their_own_schedules(world):
    a, b, admin = world["a"], world["b"], world["admin"]
    mine = create(a, task="parked", cron="0 5 * * *", id="nightly")
    theirs = create(b, task="parked", cron="0 6 * * *", id="nightly")  # the same id, another user: no clash
    assert mine["owner"] == world["user_a"] and theirs["owner"] == world["user_b"]
    assert [s["cron"] for s in a.get("/api/schedules").json()["schedules"]] == ["0 5 * * *"]
    assert [s["cron"] for s in b.get("/api/schedules").json()["schedules"]] == ["0 6 * * *"]
    everything = {s["id"]: s for s in admin.get("/api/schedules").json()["schedules"]}
    assert everything[stored_id(world["user_a"], "nightly")]["owner"] == world["user_a"]
    assert everything[stored_id(world["user_b"], "nightly")]["owner"] == world["user_b"]
    # B can't reach A's schedule by its stored id either, and learns nothing: the same
    # 404 as a missing id
    stored_a = stored_id(world["user_a"], "nightly")
    for method, suffix in (("GET", ""), ("POST", "/pause"), ("POST", "/resume"), ("POST", "/run"), ("DELETE", "")):
        theirs = b.request(method, f"/api/schedules/{stored_a}{suffix}")
        nothing = b.request(method, f"/api/schedules/no-such-schedule{suffix}")
        assert theirs.status_code == nothing.status_code == 404
        assert theirs.json()["error"]["code"] == nothing.json()["error"]["code"] == "not_found"
        assert theirs.json()["error"]["message"].replace(stored_a, "ID") == nothing.json()["error"]["message"].replace(
            "no-such-schedule", "ID"
        )
    assert a.get("/api/schedules/nightly").json()["paused"] is False  # untouched
    # deleting one user's schedule leaves the other's
    assert b.delete("/api/schedules/nightly").status_code == 200
    assert a.get("/api/schedules/nightly").status_code == 200
    # an admin's schedule fires jobs of the admin, and users don't see it
    ops = create(admin, task="parked", cron="0 7 * * *", id="ops-report")
    assert ops["id"] == "ops-report" and ops["owner"].startswith("admin-")
    assert "ops-report" not in {s["id"] for s in a.get("/api/schedules").json()["schedules"]}
    assert a.get("/api/schedules/ops-report").status_code == 404


def test_schedule_made_in_code_for_a_user_is_theirs(api, world):
    """A schedule stored with ``owner=`` a user (app.schedules.add, e.g. from the CLI or
    code) shows up for that user under its own id."""
    code = (
        "import tests.api.tasks_api as t; "
        f"t.app.schedules.add('parked', cron='0 8 * * *', id='report-{world['user_a']}', owner={world['user_a']!r})"
    )
    out = api.procs.python(code)
    assert out.returncode == 0, out.stderr
    sid = f"report-{world['user_a']}"
    assert sid in {s["id"] for s in world["a"].get("/api/schedules").json()["schedules"]}
    assert world["a"].post(f"/api/schedules/{sid}/pause").json()["paused"] is True
    assert world["b"].get(f"/api/schedules/{sid}").status_code == 404
    assert world["a"].delete(f"/api/schedules/{sid}").status_code == 200


def test_bad_input_statuses(world, api):
    c = world["a"]

    def err(r, status, code=None):
        assert r.status_code == status, r.text
        assert set(r.json()) == {"error"} and set(r.json()["error"]) == {"code", "message"}
        if code:
            assert r.json()["error"]["code"] == code, r.text

    raw = {"Content-Type": "application/json"}
    post = "/api/schedules"
    err(c.post(post, content=b"{not json", headers=raw), 400, "bad_request")
    err(c.post(post, content=b"", headers=raw), 400, "bad_request")
    err(c.post(post, json=["add"]), 422, "invalid_field")
    err(c.post(post, json={"task": "add", "args": [1, 2], "interval": 60, "surprise": 1}), 422, "invalid_field")
    err(c.post(post, json={"interval": 60}), 422, "invalid_field")
    err(c.post(post, json={"task": "nope", "interval": 60}), 422, "unknown_task")
    err(c.post(post, json={"task": "add", "args": [1], "interval": 60}), 422, "invalid_arguments")
    err(
        c.post(post, json={"task": "add", "args": [1, 2], "kwargs": {"c": 3}, "interval": 60}), 422, "invalid_arguments"
    )
    err(c.post(post, json={"task": "add", "args": [1, 2]}), 422, "invalid_field")  # neither cron nor interval
    err(c.post(post, json={"task": "add", "args": [1, 2], "cron": "* * * * *", "interval": 60}), 422)  # both
    for cron in ("61 * * * *", "every day", "0 0 30 2 *", "@reboot", "* * * * * * * * *"):
        err(c.post(post, json={"task": "add", "args": [1, 2], "cron": cron}), 422, "invalid_field")
    for tz in ("Mars/Olympus", "Europe", "../etc", "", "UTC/"):
        err(c.post(post, json={"task": "add", "args": [1, 2], "cron": "0 3 * * *", "timezone": tz}), 422)
    for interval in (0, 0.5, -5, "60", True, 1e12):
        err(c.post(post, json={"task": "add", "args": [1, 2], "interval": interval}), 422, "invalid_field")
    err(c.post(post, json={"task": "add", "args": "1,2", "interval": 60}), 422)
    err(c.post(post, json={"task": "add", "args": [1, 2], "kwargs": [], "interval": 60}), 422)
    err(c.post(post, json={"task": "add", "args": [1, 2], "interval": 60, "priority": "high"}), 422)
    err(c.post(post, json={"task": "add", "args": [1, 2], "interval": 60, "queue": 5}), 422)
    for bad_id in ("a/b", "", " x", "x" * 300, "..", "ü"):
        err(c.post(post, json={"task": "add", "args": [1, 2], "interval": 60, "id": bad_id}), 422, "invalid_field")
    big = c.post(post, json={"task": "echo", "kwargs": {"value": "x" * (2 * 1024 * 1024)}, "interval": 60})
    err(big, 413, "payload_too_large")
    assert c.get("/api/schedules").json() == {"schedules": []}  # nothing was stored

    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"), ("POST", "/run")):
        err(c.request(method, f"/api/schedules/no-such{path}"), 404, "not_found")
    err(c.put("/api/schedules"), 405)
    err(c.patch("/api/schedules/no-such"), 405)
    err(world["clients"]["none"].post(post, json={"task": "add", "args": [1, 2], "interval": 60}), 401, "unauthorized")
    err(world["clients"]["bad"].get("/api/schedules"), 401, "unauthorized")

    # 409: the id in the user's namespace holds a schedule someone else (an admin) made
    stored = stored_id(world["user_a"], "taken")
    create(world["admin"], task="parked", cron="0 9 * * *", id=stored)
    err(c.post(post, json={"task": "parked", "cron": "0 9 * * *", "id": "taken"}), 409)
    assert world["admin"].get(f"/api/schedules/{stored}").json()["owner"] != world["user_a"]  # unchanged
    assert world["admin"].delete(f"/api/schedules/{stored}").status_code == 200
