"""SSE and WebSocket: a separate worker process's progress arrives live, in order, ends
with the final state, resumes with Last-Event-ID, and never crosses tenants."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.api.conftest import submit, wait_status
from tests.api.sse import frames, read_all


def ws_url(api, path: str) -> str:
    return api.base.replace("http://", "ws://") + path


def test_job_sse_streams_live_progress_in_order_and_ends_after_final_state(user, api):
    _, c = user()
    job_id = submit(c, "steps", 5, 0.3)
    got = []
    with c.stream("GET", f"/api/jobs/{job_id}/events", timeout=30) as r:
        assert r.status_code == 200
        for f in frames(r):
            if "comment" not in f:
                got.append(f)
    closed_at = time.monotonic()
    assert got[0]["event"] == "state" and got[0]["data"]["data"]["id"] == job_id
    ids = [int(f["id"]) for f in got]
    assert ids == sorted(ids), "events went backwards"
    assert len({int(f["id"]) for f in got[1:-1]}) == len(got) - 2
    progress = [f["data"]["data"]["progress"] for f in got if f["event"] == "progress"]
    assert progress == sorted(progress) and len(progress) >= 3
    assert [f for f in got if f["event"] == "message"]
    statuses = [f["data"]["data"]["status"] for f in got if f["event"] == "status"]
    assert statuses[-1] == "completed"
    last = got[-1]
    assert last["event"] == "state" and last["data"]["data"]["status"] == "completed"
    assert last["data"]["data"]["result"] == {"steps": 5} and last["data"]["data"]["progress"] == 100
    final_status = next(f for f in got if f["event"] == "status" and f["data"]["data"]["status"] == "completed")
    assert closed_at - final_status["t"] < 1.0


def test_progress_arrives_within_half_a_second(user, api):
    _, c = user()
    job_id = submit(c, "steps", 4, 0.5)
    lags = []
    with c.stream("GET", f"/api/jobs/{job_id}/events", timeout=30) as r:
        for f in frames(r):
            if f.get("event") == "message":
                # a message's own timestamp is when the task wrote it (same machine, same clock)
                stamp = f["data"]["data"]["timestamp"]
                written = time.mktime(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
                written += float("0." + stamp[20:23])
                lags.append(time.time() - written)
    assert lags and max(lags) < 0.5 + 0.25, lags  # 200 ms progress flush + 100 ms hub poll + slack


def test_sse_resumes_after_last_event_id(user):
    _, c = user()
    job_id = submit(c, "steps", 4, 0.2)
    first = []
    with c.stream("GET", f"/api/jobs/{job_id}/events", timeout=30) as r:
        for f in frames(r):
            if "comment" not in f:
                first.append(f)
            if f.get("event") == "progress":
                break  # drop the connection mid-job
    cut = int(first[-1]["id"])
    rest = read_all(c, f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": str(cut)})
    assert rest[0]["event"] != "state" and int(rest[0]["id"]) > cut
    ids = [int(f["id"]) for f in rest]
    assert ids == sorted(ids)
    assert rest[-1]["event"] == "state" and rest[-1]["data"]["data"]["status"] == "completed"
    # the whole history, replayed from the start, holds what both connections saw
    everything = read_all(c, f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": "0"})
    seqs = {int(f["id"]) for f in everything if f["event"] != "state"}
    assert {int(f["id"]) for f in first[1:] + rest[:-1]} <= seqs
    # reconnecting after the end gets the final state and the stream closes
    after_end = read_all(c, f"/api/jobs/{job_id}/events", headers={"Last-Event-ID": rest[-1]["id"]})
    assert [f["event"] for f in after_end] == ["state"]
    assert read_all(c, f"/api/jobs/{job_id}/events?last_event_id=0")[-1]["event"] == "state"


def test_finished_job_stream_sends_state_and_closes(user):
    _, c = user()
    job_id = submit(c, "add", 1, 2)
    wait_status(c, job_id, {"completed"})
    got = read_all(c, f"/api/jobs/{job_id}/events")
    assert [f["event"] for f in got] == ["state"] and got[0]["data"]["data"]["result"] == 3


def test_keepalive_comments(user):
    _, c = user()
    job_id = submit(c, "parked")
    with c.stream("GET", f"/api/jobs/{job_id}/events", timeout=10) as r:
        comments = 0
        for f in frames(r):
            comments += "comment" in f
            if comments >= 2:
                break
    assert comments >= 2


def test_access_token_query_parameter_for_eventsource(user, api):
    _, c = user()
    token = c.headers["authorization"].split()[1]
    job_id = submit(c, "add", 2, 2)
    wait_status(c, job_id, {"completed"})
    with httpx.Client(base_url=api.base) as anon:
        got = read_all(anon, f"/api/jobs/{job_id}/events?access_token={token}")
        assert got[0]["data"]["data"]["result"] == 4
        assert anon.get(f"/api/jobs/{job_id}?access_token={token}").status_code == 401  # streams only


def test_all_events_stream_is_per_tenant(user, api):
    _, alice = user()
    _, bob = user()
    _, admin = user(admin=True)
    seen: dict[str, list] = {"alice": [], "bob": [], "admin": []}
    ready = threading.Barrier(4)

    def follow(name, client, until):
        with client.stream("GET", "/api/events", timeout=30) as r:
            ready.wait()
            for f in frames(r):
                if "comment" in f:
                    continue
                seen[name].append(f)
                if until(seen[name]):
                    return

    box: dict[str, str] = {}

    def completed(got) -> set[str]:
        return {
            f["data"]["job_id"] for f in got if f["event"] == "status" and f["data"]["data"]["status"] == "completed"
        }

    threads = [
        threading.Thread(target=follow, args=("alice", alice, lambda got: box.get("alice") in completed(got))),
        threading.Thread(target=follow, args=("bob", bob, lambda got: box.get("bob") in completed(got))),
        threading.Thread(
            target=follow, args=("admin", admin, lambda got: len(box) == 2 and set(box.values()) <= completed(got))
        ),
    ]
    for t in threads:
        t.start()
    ready.wait()
    box["alice"] = submit(alice, "steps", 2, 0.05)
    box["bob"] = submit(bob, "steps", 2, 0.05)
    for t in threads:
        t.join(20)
    assert {f["data"]["job_id"] for f in seen["alice"]} == {box["alice"]}
    assert {f["data"]["job_id"] for f in seen["bob"]} == {box["bob"]}
    assert {box["alice"], box["bob"]} <= {f["data"]["job_id"] for f in seen["admin"]}
    for got in seen.values():
        ids = [int(f["id"]) for f in got]
        assert ids == sorted(ids)


def test_websocket_job_stream_progress_final_and_resume(user, api):
    _, c = user()
    token = c.headers["authorization"].split()[1]
    job_id = submit(c, "steps", 4, 0.2)
    msgs = []
    with connect(
        ws_url(api, f"/api/ws?job_id={job_id}"), additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=5
    ) as ws:
        for raw in ws:
            msgs.append(json.loads(raw))
    assert msgs[0]["type"] == "state" and msgs[-1]["type"] == "state"
    assert msgs[-1]["data"]["status"] == "completed"
    seqs = [m["seq"] for m in msgs]
    assert seqs == sorted(seqs)
    progress = [m["data"]["progress"] for m in msgs if m["type"] == "progress"]
    assert progress == sorted(progress) and msgs[-1]["data"]["progress"] == 100
    cut = next(m["seq"] for m in msgs if m["type"] == "progress")
    with connect(ws_url(api, f"/api/ws?job_id={job_id}&last_event_id={cut}&access_token={token}")) as ws:
        rest = [json.loads(raw) for raw in ws]
    assert rest[0]["seq"] > cut and rest[-1]["type"] == "state"
    assert [m["seq"] for m in rest[:-1]] == [m["seq"] for m in msgs[1:-1] if m["seq"] > cut]


def test_websocket_all_events_only_own(user, api):
    _, alice = user()
    _, bob = user()
    ta = alice.headers["authorization"].split()[1]
    with connect(ws_url(api, f"/api/ws?access_token={ta}")) as ws:
        theirs = submit(bob, "add", 1, 1)
        mine = submit(alice, "add", 2, 2)
        got = []
        while True:
            m = json.loads(ws.recv(timeout=10))
            got.append(m)
            if m["job_id"] == mine and m["type"] == "status" and m["data"]["status"] == "completed":
                break
    assert {m["job_id"] for m in got} == {mine} and theirs not in {m["job_id"] for m in got}


@pytest.mark.parametrize("query", ["", "?access_token=bad", "?job_id=missing"])
def test_websocket_refused_before_handshake(api, user, query):
    _, c = user()
    token = c.headers["authorization"].split()[1]
    url = ws_url(api, "/api/ws" + query)
    if query.startswith("?job_id"):
        url += f"&access_token={token}"
    with pytest.raises(InvalidStatus) as info:
        connect(url, open_timeout=5)
    assert info.value.response.status_code == (404 if "job_id" in query else 401)
