"""The browser client (offload.js, offload.mjs) in a real Chromium, against a real
``offload serve`` and a separate ``offload worker`` process.

The pages come through a front door (js_support.FrontDoor) that can cut the
connections, play an unreachable server, answer a route itself, and logs every request
with its time; the pages also count every fetch and EventSource they start.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import js_support
from tests.browser.js_server import Server, requests_for, start_server, stop_server
from tests.browser.js_support import assert_in_order, event_seqs, record, resumed_from, wait_end, wait_messages, watch
from tests.support.procs import wait_for


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("js-client"))
    yield server
    stop_server(server)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``own_server(*serve_options)``: a server of the test's own (one it restarts, or limits)."""
    started: list[Server] = []

    def start(*extra: str) -> Server:
        workdir = tmp_path / f"server{len(started)}"
        workdir.mkdir()
        server = start_server(workdir, extra)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_server(server)


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    yield from js_support.pages(browser)


# -- following a job ----------------------------------------------------------------------------


def test_the_module_submits_and_follows_a_job_to_its_result(served: Server, open_page: Callable[..., Page]) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    job_id = page.evaluate("async (t) => (await api.submit('steps', [4, 0.3], {}, {token: t})).job_id", token)
    watch(page, "w", job_id, token=token)
    rec = wait_end(page, "w")

    final = served.job(job_id)
    assert final["status"] == "completed" and final["result"] == {"steps": 4}
    assert [m["message"] for m in final["messages"]] == [f"step {i}/4" for i in range(1, 5)]
    assert rec["ended"] == [final] and rec["done"] == final and rec["errors"] == []
    assert_in_order(rec["updates"], final)
    assert len(rec["updates"]) >= 4, "the steps were not followed live"
    seqs = event_seqs(rec)
    assert seqs == sorted(set(seqs)), seqs
    # one stream, closed by the client at the final state: no reconnection, no reads
    assert len(requests_for(served, job_id, "events")) == 1
    assert requests_for(served, job_id, "get") == []
    # a module defines no global; its default export is the same client
    assert page.evaluate("typeof window.offload") == "undefined"
    assert page.evaluate("moduleDefault.watch === api.watch && moduleDefault.submit === api.submit")


def test_the_classic_script_keeps_its_global_streaming_and_polling(
    served: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(served.door.base, "classic")
    assert page.evaluate("typeof offload.watch === 'function' && typeof offload.submit === 'function'")
    token = served.token()
    job_id = served.submit(token, "steps", 3, 0.4)
    watch(page, "stream", job_id, baseUrl="", token=token)
    watch(page, "poll", job_id, apiBase="/api", token=token, poll=True, pollInterval=150)
    streamed, polled = wait_end(page, "stream"), wait_end(page, "poll")

    final = served.job(job_id)
    assert final["result"] == {"steps": 3}
    for rec in (streamed, polled):
        assert_in_order(rec["updates"], final)
        assert rec["ended"] == [final] and rec["done"] == final
    assert polled["events"] == [], "the polling watch opened a stream"
    assert len(requests_for(served, job_id, "events")) == 1


def test_a_cut_stream_resumes_after_its_last_event(served: Server, open_page: Callable[..., Page]) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    job_id = served.submit(token, "steps", 8, 0.4)
    watch(page, "w", job_id, token=token)
    wait_messages(page, "w", 2)
    seen = max(event_seqs(record(page, "w")))
    assert served.door.cut() >= 1
    rec = wait_end(page, "w")

    final = served.job(job_id)
    assert final["result"] == {"steps": 8} and rec["done"] == final
    assert_in_order(rec["updates"], final)
    assert [m["message"] for m in rec["updates"][-1]["messages"]] == [f"step {i}/8" for i in range(1, 9)]
    streams = requests_for(served, job_id, "events")
    assert len(streams) >= 2, "the stream was not reopened"
    assert resumed_from(streams[0]) is None
    assert resumed_from(streams[1]) is not None and resumed_from(streams[1]) >= seen
    seqs = event_seqs(rec)
    assert seqs == sorted(set(seqs)), f"an event came twice or went backwards: {seqs}"


def test_a_watch_away_while_the_job_ends_still_gets_the_final_state(
    served: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    job_id = served.submit(token, "steps", 4, 0.3)
    watch(page, "w", job_id, token=token)
    wait_messages(page, "w", 1)
    served.door.down = True  # every new connection is dropped
    try:
        served.door.cut()
        served.wait_status(job_id, "completed")
        wait_for(
            lambda: any(h.status is None for h in requests_for(served, job_id, "any")),
            timeout=20,
            message="the watch trying to reconnect while the server is away",
        )
    finally:
        served.door.down = False
    rec = wait_end(page, "w")

    final = served.job(job_id)
    assert final["result"] == {"steps": 4}
    assert rec["updates"][-1] == final and rec["ended"] == [final] and rec["done"] == final
    assert_in_order(rec["updates"], final)


def test_a_stream_cut_between_the_final_status_and_state_ends_with_one_read(
    served: Server, open_page: Callable[..., Page]
) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    job_id = served.submit(token, "steps", 3, 0.2)
    served.door.sever = b'"job_id":"%s","type":"status".*"status":"completed"' % job_id.encode()
    try:
        watch(page, "w", job_id, token=token)
        rec = wait_end(page, "w")
    finally:
        served.door.sever = None

    final = served.job(job_id)
    assert final["result"] == {"steps": 3}
    assert rec["updates"][-1] == final and rec["ended"] == [final] and rec["done"] == final
    assert_in_order(rec["updates"], final)
    assert rec["events"][-1]["type"] == "status", "the closing state came through after all"
    (stream,) = requests_for(served, job_id, "events")
    reads = requests_for(served, job_id, "get")
    assert len(reads) == 1 and reads[0].at > stream.at and reads[0].status == 200


def test_a_watch_outlives_a_server_restart(own_server: Callable[..., Server], open_page: Callable[..., Page]) -> None:
    server = own_server()
    page = open_page(server.door.base, "module")
    token = server.token()
    job_id = server.submit(token, "steps", 10, 0.4)
    watch(page, "w", job_id, token=token, pollInterval=300)
    wait_messages(page, "w", 2)
    seen = max(event_seqs(record(page, "w")))
    server.restart()
    rec = wait_end(page, "w")

    final = server.job(job_id)
    assert final["result"] == {"steps": 10} and rec["done"] == final
    assert_in_order(rec["updates"], final)
    assert [m["message"] for m in rec["updates"][-1]["messages"]] == [f"step {i}/10" for i in range(1, 11)]
    resumes = [resumed_from(h) for h in requests_for(server, job_id, "events")[1:]]
    assert resumes and all(r is not None and r >= seen for r in resumes), resumes


# -- backing off ---------------------------------------------------------------------------------


def _gaps_after(hits: list[Any], status: int) -> list[tuple[float, float]]:
    """(seconds to the next request, Retry-After) after each answer of ``status``."""
    return [(b.at - a.at, float(a.retry_after)) for a, b in zip(hits, hits[1:], strict=False) if a.status == status]


def test_polling_waits_out_429_for_its_retry_after(
    own_server: Callable[..., Server], open_page: Callable[..., Page]
) -> None:
    server = own_server("--poll-rate", "1", "--poll-burst", "1")
    page = open_page(server.door.base, "module")
    token = server.token()
    job_id = server.submit(token, "steps", 3, 0.5)
    # by its own pace it would read every 100 ms, and back off to 300 ms at most
    watch(page, "w", job_id, token=token, poll=True, pollInterval=100, maxPollInterval=300)
    rec = wait_end(page, "w")

    final = server.job(job_id)
    assert final["result"] == {"steps": 3} and rec["done"] == final
    assert_in_order(rec["updates"], final)
    reads = requests_for(server, job_id, "get")
    gaps = _gaps_after(reads, 429)
    assert gaps, f"no 429 came: {[h.status for h in reads]}"
    assert all(gap >= 0.9 * after for gap, after in gaps), gaps
    assert rec["errors"] == []


def test_a_503_on_the_stream_and_its_read_is_waited_out(served: Server, open_page: Callable[..., Page]) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    job_id = served.submit(token, "steps", 10, 0.4)
    served.door.answer(rf"/api/jobs/{job_id}/events", 503, {"Retry-After": "2"}, times=1)
    served.door.answer(rf"/api/jobs/{job_id}$", 503, {"Retry-After": "2"}, times=1)
    watch(page, "w", job_id, token=token, pollInterval=100)
    rec = wait_end(page, "w")

    final = served.job(job_id)
    assert rec["done"] == final and final["result"] == {"steps": 10}
    reads = requests_for(served, job_id, "get")
    assert reads[0].status == 503
    gaps = _gaps_after(reads, 503)
    assert gaps and all(gap >= 0.9 * after for gap, after in gaps), gaps
    assert [h.status for h in requests_for(served, job_id, "events")][:2] == [503, 200]


# -- falling back, ending, closing ---------------------------------------------------------------


def test_without_eventsource_it_polls(served: Server, open_page: Callable[..., Page]) -> None:
    page = open_page(served.door.base, "classic")
    page.evaluate("delete window.EventSource")
    token = served.token()
    job_id = served.submit(token, "steps", 3, 0.3)
    watch(page, "w", job_id, token=token, pollInterval=150)
    rec = wait_end(page, "w")

    final = served.job(job_id)
    assert rec["done"] == final and final["result"] == {"steps": 3}
    assert_in_order(rec["updates"], final)
    assert requests_for(served, job_id, "events") == []
    assert len(requests_for(served, job_id, "get")) >= 2


def test_when_sse_does_not_get_through_it_polls(served: Server, open_page: Callable[..., Page]) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    job_id = served.submit(token, "steps", 10, 0.5)
    served.door.answer(rf"/api/jobs/{job_id}/events", 502)  # a proxy that won't pass the stream
    watch(page, "w", job_id, token=token, pollInterval=200)
    rec = wait_end(page, "w")

    final = served.job(job_id)
    assert rec["done"] == final and final["result"] == {"steps": 10}
    assert_in_order(rec["updates"], final)
    streams = requests_for(served, job_id, "events")
    assert len(streams) == 3 and all(h.status == 502 for h in streams)
    polls = [h for h in requests_for(served, job_id, "get") if h.at > streams[-1].at]
    assert len(polls) >= 3, "it did not go on by polling"


@pytest.mark.parametrize("poll", [False, True], ids=["stream", "poll"])
def test_a_missing_job_or_a_bad_token_ends_the_watch_with_onerror(
    served: Server, open_page: Callable[..., Page], poll: bool
) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    missing = secrets.token_hex(16)
    elsewhere = served.submit(served.token(), "echo", 1)  # another user's job
    watch(page, "missing", missing, token=token, poll=poll)
    watch(page, "theirs", elsewhere, token=token, poll=poll)
    watch(page, "badtoken", missing, token="off_not-a-token", poll=poll)
    for name, status, code in (("missing", 404, "not_found"), ("theirs", 404, "not_found"), ("badtoken", 401, None)):
        rec = wait_end(page, name)
        assert rec["done"] is None and rec["updates"] == [] and rec["ended"] == []
        assert [e["status"] for e in rec["errors"]] == [status], (name, rec["errors"])
        if code:
            assert rec["errors"][0]["code"] == code
    # no retries: one read, or one stream and the read that said why it failed
    tries = 1 if poll else 2
    assert page.evaluate("(id) => trafficFor(id)", missing) == 2 * tries  # two watches
    assert page.evaluate("(id) => trafficFor(id)", elsewhere) == tries


def test_close_stops_all_traffic(served: Server, open_page: Callable[..., Page]) -> None:
    page = open_page(served.door.base, "module")
    token = served.token()
    polled, streamed, control = (served.submit(token, "parked", i) for i in range(3))  # never run
    watch(page, "polled", polled, token=token, poll=True, pollInterval=100)
    watch(page, "streamed", streamed, token=token)
    watch(page, "control", control, token=token, poll=True, pollInterval=100)
    page.wait_for_function("watches.polled.updates.length > 0 && watches.streamed.updates.length > 0")
    counts = page.evaluate(
        """([a, b]) => { watches.polled.close(); watches.streamed.close();
                         return [trafficFor(a), trafficFor(b)]; }""",
        [polled, streamed],
    )
    base = page.evaluate("(id) => trafficFor(id)", control)
    page.wait_for_function("([id, n]) => trafficFor(id) >= n + 5", arg=[control, base])

    assert page.evaluate("([a, b]) => [trafficFor(a), trafficFor(b)]", [polled, streamed]) == counts
    for name in ("polled", "streamed"):
        rec = record(page, name)
        assert rec["done"] is None and rec["ended"] == [] and rec["errors"] == []
    # the server sees the stream go (at its next keep-alive at the latest)
    wait_for(
        lambda: not any(h.open for h in requests_for(served, streamed, "events")),
        timeout=10,
        message="the closed stream's connection to end",
    )
