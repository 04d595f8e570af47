"""Isolation matrix: user A, user B, admin, no token and a bad token against every
endpoint, SSE and WebSocket included. Another user's job is a 404 exactly like a
missing id."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.api.conftest import submit, wait_status
from tests.support.procs import wait_for

WHO = ("a", "b", "admin", "none", "bad")


@pytest.fixture
def world(api, user):
    name_a, a = user()
    _, b = user()
    _, admin = user(admin=True)
    done = submit(a, "add", 1, 1)
    wait_status(a, done, {"completed"})
    clients = {
        "a": a,
        "b": b,
        "admin": admin,
        "none": api.client(None),
        "bad": api.client("off_not-a-real-token"),
    }
    yield {"clients": clients, "done": done, "a": a, "user_a": name_a}
    for key in ("none", "bad"):
        clients[key].close()


# method, path template, expected (a, b, admin, none, bad); {done} a finished job of A,
# {parked} a fresh waiting job of A per caller
MATRIX = [
    ("GET", "/api/jobs/{done}", (200, 404, 200, 401, 401)),
    ("POST", "/api/jobs/{parked}/cancel", (200, 404, 200, 401, 401)),
    ("POST", "/api/jobs/{cancelled}/retry", (200, 404, 200, 401, 401)),
    ("DELETE", "/api/jobs/{cancelled}", (200, 404, 200, 401, 401)),
    ("GET", "/api/jobs/{done}/events", (200, 404, 200, 401, 401)),
    ("GET", "/api/jobs", (200, 200, 200, 401, 401)),
    ("POST", "/api/jobs", (202, 202, 202, 401, 401)),
    ("GET", "/api/queues", (200, 200, 200, 401, 401)),
    ("POST", "/api/queues/iso/pause", (403, 403, 200, 401, 401)),
    ("POST", "/api/queues/iso/resume", (403, 403, 200, 401, 401)),
    ("GET", "/api/workers", (200, 200, 200, 401, 401)),
    ("GET", "/metrics", (403, 403, 200, 401, 401)),
    ("GET", "/api/openapi.json", (200, 200, 200, 401, 401)),
]


@pytest.mark.parametrize(("method", "path", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_matrix(world, method, path, expected):
    a = world["a"]
    for who, want in zip(WHO, expected, strict=True):
        parked = submit(a, "parked")
        cancelled = submit(a, "parked")
        a.post(f"/api/jobs/{cancelled}/cancel")
        url = path.format(done=world["done"], parked=parked, cancelled=cancelled)
        body = {"json": {"task": "parked"}} if method == "POST" and url == "/api/jobs" else {}
        r = world["clients"][who].request(method, url, **body)
        assert r.status_code == want, (who, method, url, r.text)
        if want >= 400:
            assert set(r.json()["error"]) == {"code", "message"}
        if want == 401:
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_other_users_job_is_the_same_404_as_a_missing_one(world):
    b = world["clients"]["b"]
    done = world["done"]
    missing = "f" * len(done)
    for suffix, method in (("", "GET"), ("/cancel", "POST"), ("/retry", "POST"), ("", "DELETE"), ("/events", "GET")):
        theirs = b.request(method, f"/api/jobs/{done}{suffix}")
        nothing = b.request(method, f"/api/jobs/{missing}{suffix}")
        assert theirs.status_code == nothing.status_code == 404
        assert theirs.json()["error"]["message"].replace(done, "ID") == nothing.json()["error"]["message"].replace(
            missing, "ID"
        )
        assert dict(theirs.headers).keys() == dict(nothing.headers).keys()


def test_lists_and_workers_show_only_own_jobs(world):
    a, b, admin = (world["clients"][k] for k in ("a", "b", "admin"))
    done = world["done"]
    assert done in {j["id"] for j in a.get("/api/jobs").json()["jobs"]}
    assert done not in {j["id"] for j in b.get("/api/jobs").json()["jobs"]}
    assert done in {j["id"] for j in admin.get("/api/jobs", params={"owner": world["user_a"]}).json()["jobs"]}
    # a user can't widen the listing with owner=
    assert done not in {j["id"] for j in b.get("/api/jobs", params={"owner": world["user_a"]}).json()["jobs"]}
    running = submit(a, "steps", 30, 0.1)
    wait_status(a, running, {"running"})
    # workers report their running jobs with each heartbeat
    wait_for(
        lambda: running in [j for w in a.get("/api/workers").json()["workers"] for j in w["running"]],
        timeout=5,
        message="the worker to report the job",
    )
    mine = [j for w in a.get("/api/workers").json()["workers"] for j in w["running"]]
    theirs = [j for w in b.get("/api/workers").json()["workers"] for j in w["running"]]
    assert running in mine and running not in theirs
    a.post(f"/api/jobs/{running}/cancel")


@pytest.mark.parametrize("who", ["b", "none", "bad"])
def test_streams_refuse_strangers(world, api, who):
    client = world["clients"][who]
    with client.stream("GET", f"/api/jobs/{world['done']}/events") as r:
        assert r.status_code == (404 if who == "b" else 401)
    if who != "b":
        with client.stream("GET", "/api/events") as r:
            assert r.status_code == 401
    token = {"b": client.headers.get("authorization", "x").split()[-1], "none": "", "bad": "nope"}[who]
    url = api.base.replace("http", "ws") + f"/api/ws?job_id={world['done']}&access_token={token}"
    with pytest.raises(InvalidStatus) as info:
        connect(url, open_timeout=5)
    assert info.value.response.status_code == (404 if who == "b" else 401)


def test_health_is_public_but_says_nothing_private(api):
    body = httpx.get(f"{api.base}/api/health").json()
    assert "jobs.db" not in str(body) and set(body) >= {"status", "backend", "workers"}
