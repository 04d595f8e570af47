"""The Flask blueprint and the FastAPI router, driven end to end through the examples."""

from __future__ import annotations

import threading

import httpx

from tests.api.sse import read_all
from tests.support.procs import wait_for

FINAL = {"completed", "failed", "cancelled"}


def test_flask_four_users_fetch_in_parallel_and_see_only_their_own(example):
    base = example("mail_flask", queue="mail")
    users = ["anna", "ben", "cleo", "dan"]
    clients = {u: httpx.Client(base_url=base, timeout=10) for u in users}
    ids: dict[str, str] = {}
    try:
        anonymous = httpx.post(f"{base}/offload/jobs", json={"task": "fetch_mail", "args": ["x"]})
        assert anonymous.status_code == 401

        def go(user: str) -> None:
            c = clients[user]
            c.get("/login", params={"user": user})
            r = c.post(
                "/offload/jobs",
                json={"task": "fetch_mail", "args": [f"{user}@example.com"], "kwargs": {"messages": 10}},
            )
            assert r.status_code == 202, r.text
            assert r.headers["location"] == f"/offload/jobs/{r.json()['job_id']}"
            ids[user] = r.json()["job_id"]

        threads = [threading.Thread(target=go, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # all four run at the same time on the worker's slots
        wait_for(
            lambda: all(
                clients[u].get(f"/offload/jobs/{ids[u]}").json()["status"] in {"running"} | FINAL for u in users
            ),
            timeout=10,
            message="all four started",
        )
        for u in users:
            c = clients[u]
            listed = [j["id"] for j in c.get("/offload/jobs").json()["jobs"]]
            assert listed == [ids[u]]
            for other in users:
                if other != u:
                    assert c.get(f"/offload/jobs/{ids[other]}").status_code == 404
                    assert c.post(f"/offload/jobs/{ids[other]}/cancel").status_code == 404
        for u in users:
            job = wait_for(
                lambda u=u: (j := clients[u].get(f"/offload/jobs/{ids[u]}").json())["status"] in FINAL and j,
                timeout=20,
                message=f"{u}'s job to end",
            )
            assert job["status"] == "completed" and job["result"] == {"account": f"{u}@example.com", "fetched": 10}
            assert job["owner"] == u
        started = sorted(clients[u].get(f"/offload/jobs/{ids[u]}").json()["started_at"] for u in users)
        finished = sorted(clients[u].get(f"/offload/jobs/{ids[u]}").json()["completed_at"] for u in users)
        assert started[-1] < finished[0], "the four fetches did not overlap"
        bad = clients["anna"].post("/offload/jobs", content=b"{", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
        assert clients["anna"].post("/offload/jobs", json={"task": "nope"}).status_code == 422
    finally:
        for c in clients.values():
            c.close()


def test_flask_admin_scraper_live_progress_over_sse(example):
    base = example("scraper_admin", queue="scrapers")
    with httpx.Client(base_url=base, timeout=30) as c:
        assert "offload.watch" in c.get("/admin").text
        assert "function watch" in c.get("/offload/offload.js").text
        job_id = c.post("/offload/jobs", json={"task": "scrape_shop", "args": ["payback"]}).json()["job_id"]
        frames = read_all(c, f"/offload/jobs/{job_id}/events")
        assert frames[0]["event"] == "state"
        ids = [int(f["id"]) for f in frames]
        assert ids == sorted(ids)
        pages = [f["data"]["data"]["message"] for f in frames if f["event"] == "message"]
        assert any(p.startswith("Page ") for p in pages)
        assert frames[-1]["event"] == "state" and frames[-1]["data"]["data"]["status"] == "completed"
        assert frames[-1]["data"]["data"]["result"] == {"shop": "payback", "added": 15}
        cut = next(f["id"] for f in frames if f["event"] == "progress")
        rest = read_all(c, f"/offload/jobs/{job_id}/events", headers={"Last-Event-ID": cut})
        assert int(rest[0]["id"]) > int(cut) and rest[-1]["data"]["data"]["status"] == "completed"
        # the admin sees everything, tracebacks included
        assert c.get("/offload/jobs").json()["jobs"][0]["id"] == job_id
        assert c.delete(f"/offload/jobs/{job_id}").status_code == 200


def test_fastapi_media_job_polled_with_backoff(example):
    base = example("media_fastapi", queue="media")
    with (
        httpx.Client(base_url=base, timeout=10, headers={"X-User": "mia"}) as mia,
        httpx.Client(base_url=base, timeout=10, headers={"X-User": "noah"}) as noah,
    ):
        assert httpx.get(f"{base}/offload/jobs").status_code == 401
        r = mia.post("/offload/jobs", json={"task": "generate_video", "args": ["a cat"], "kwargs": {"frames": 10}})
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        assert noah.get(f"/offload/jobs/{job_id}").status_code == 404
        assert noah.get("/offload/jobs").json()["jobs"] == []
        delay, polls, seen = 0.05, 0, []
        while True:
            job = mia.get(f"/offload/jobs/{job_id}").json()
            polls += 1
            seen.append(job["progress"])
            if job["status"] in FINAL:
                break
            threading.Event().wait(delay)  # the client's backoff between polls
            delay = min(delay * 1.5, 1.0)
        assert job["status"] == "completed" and job["result"]["output_url"].endswith(".mp4")
        assert seen == sorted(seen) and polls < 40
        assert mia.post(f"/offload/jobs/{job_id}/cancel").status_code == 409
        assert mia.post("/offload/jobs", json={"task": "generate_video"}).status_code == 422
        assert mia.post("/offload/jobs", content=b"[", headers={"Content-Type": "application/json"}).status_code == 400
        frames = read_all(mia, f"/offload/jobs/{job_id}/events")
        assert [f["event"] for f in frames] == ["state"] and frames[0]["data"]["data"]["status"] == "completed"
