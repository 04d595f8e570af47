"""Limits: body size (by Content-Length before reading, and while streaming), deeply
nested JSON, the per-token poll rate (429 + Retry-After), and a store that's gone (503)."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import httpx

from tests.api.conftest import start_server, submit
from tests.support.procs import Procs, wait_for


def count_jobs(api, user_name: str) -> int:
    return len(api.store.list_jobs(owner=user_name, limit=1000))


def test_declared_huge_body_is_refused_without_reading_it(api, user):
    name, c = user()
    token = c.headers["authorization"]
    host = urlsplit(api.base)
    with socket.create_connection((host.hostname, host.port), timeout=5) as s:
        s.sendall(
            b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: " + token.encode() + b"\r\nContent-Length: 1073741824\r\n\r\n" + b"{" * 1024
        )
        started = time.monotonic()
        received = b""
        while b'"payload_too_large"' not in received and (chunk := s.recv(4096)):
            received += chunk  # headers and body may come in separate packets
        answer = received.decode()
        # over max_drain (16 MiB): nothing more is waited for, the server closes at once
        with contextlib.suppress(ConnectionResetError):
            assert s.recv(4096) == b""
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "connection: close" in answer.lower()
    assert time.monotonic() - started < 2
    assert '"payload_too_large"' in answer
    assert count_jobs(api, name) == 0


def test_whole_oversized_body_sent_before_reading_gets_413_not_a_reset(api, user):
    """urllib sends the whole body before it reads a byte of the answer: the server must
    answer 413 and read (and drop) the rest, or the client sees a connection reset."""
    name, c = user()
    body = json.dumps({"task": "echo", "kwargs": {"value": "x" * (5 * 1024 * 1024)}}).encode()
    headers = {"Content-Type": "application/json", "Authorization": c.headers["authorization"]}
    for _ in range(3):
        req = urllib.request.Request(f"{api.base}/api/jobs", data=body, headers=headers, method="POST")
        try:
            urllib.request.urlopen(req, timeout=30).close()
            raise AssertionError("a 5 MiB body was accepted")
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read())
            assert exc.code == 413, answer
            assert exc.headers["Connection"] == "close"
        assert answer["error"]["code"] == "payload_too_large"
    assert count_jobs(api, name) == 0


def test_streamed_body_over_the_limit_is_cut_off(api, user):
    name, c = user()

    def chunks():
        yield b'{"task": "echo", "kwargs": {"value": "'
        for _ in range(4 * 1024):
            yield b"x" * 1024
        yield b'"}}'

    r = c.post("/api/jobs", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    big = c.post("/api/jobs", json={"task": "echo", "kwargs": {"value": "x" * (2 * 1024 * 1024)}})
    assert big.status_code == 413
    assert count_jobs(api, name) == 0


def test_endless_streamed_body_is_answered_413_then_cut_off_at_the_drain_bound(api, user):
    """A chunked body that never ends: the 413 comes as soon as the limit is passed, the
    rest is read and dropped up to max_drain (16 MiB), then the server closes."""
    name, c = user()
    host = urlsplit(api.base)
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    received, sent = b"", 0
    with socket.create_connection((host.hostname, host.port), timeout=10) as s:
        s.sendall(
            b"POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: " + c.headers["authorization"].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            while sent < 256 * 1024 * 1024:
                s.sendall(chunk)
                sent += len(chunk)
                readable, _, _ = select.select([s], [], [], 0)
                if readable:
                    received += s.recv(65536)
        except OSError:
            pass  # closed by the server: what this test wants
    assert received.startswith(b"HTTP/1.1 413"), received[:200]
    assert b"connection: close" in received.lower()
    assert sent < 128 * 1024 * 1024, f"{sent:,} bytes were taken: the body was read without bound"
    assert count_jobs(api, name) == 0


def test_payload_just_over_max_payload_is_413_not_500(api, user):
    name, c = user()
    r = c.post("/api/jobs", json={"task": "echo", "kwargs": {"value": "x" * (1024 * 1024 + 10)}})
    assert r.status_code == 413
    assert count_jobs(api, name) == 0


def test_deeply_nested_json_is_4xx(api, user):
    name, c = user()
    for depth in (300, 1500, 100_000):
        body = '{"task": "echo", "kwargs": {"value": ' + "[" * depth + "]" * depth + "}}"
        r = c.post("/api/jobs", content=body, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (depth, r.status_code, r.text[:200])
    fine = '{"task": "echo", "kwargs": {"value": ' + "[" * 50 + "]" * 50 + "}}"
    assert c.post("/api/jobs", content=fine, headers={"Content-Type": "application/json"}).status_code == 202
    assert count_jobs(api, name) == 1


def test_poll_rate_limit_answers_429_with_retry_after(tmp_path, api):
    procs = Procs(tmp_path, api.url, env={"OFFLOAD_API_POLL_RATE": "5", "OFFLOAD_API_POLL_BURST": "10"})
    try:
        base = start_server(procs)
        token = api.token("rate-user")
        other = api.token("rate-other")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            job_id = submit(c, "parked")
            answers = [c.get(f"/api/jobs/{job_id}") for _ in range(30)]
            limited = [r for r in answers if r.status_code == 429]
            assert limited and answers[0].status_code == 200
            assert int(limited[0].headers["retry-after"]) >= 1
            assert limited[0].json()["error"]["code"] == "rate_limited"
            # per token: another token is unaffected
            assert httpx.get(f"{base}/api/jobs", headers={"Authorization": f"Bearer {other}"}).status_code == 200
            time.sleep(int(limited[0].headers["retry-after"]))  # honour Retry-After, as a client must
            assert c.get(f"/api/jobs/{job_id}").status_code == 200
    finally:
        procs.cleanup()


def test_store_unreachable_is_503_then_recovers(tmp_path, postgres_server, postgres_url):
    """PostgreSQL stopped under a running API: health, reads and submissions answer 503
    (never 500, never a 202 whose job is missing); back to 200 once it returns."""
    procs = Procs(tmp_path, postgres_url, env={"OFFLOAD_API_POLL_RATE": "0"})
    try:
        base = start_server(procs, extra=("--no-auth",))
        with httpx.Client(base_url=base, timeout=60) as c:
            job_id = submit(c, "parked")
            postgres_server.stop()
            try:
                wait_for(lambda: c.get("/api/health").status_code == 503, timeout=30, message="health 503")
                got = c.get(f"/api/jobs/{job_id}")
                assert got.status_code == 503 and got.json()["error"]["code"] in ("unavailable", "store_error")
                posted = c.post("/api/jobs", json={"task": "parked"})
                assert posted.status_code == 503, posted.text
            finally:
                postgres_server.start()
            wait_for(lambda: c.get("/api/health").status_code == 200, timeout=30, message="health 200 again")
            assert c.get(f"/api/jobs/{job_id}").status_code == 200
    finally:
        procs.cleanup()
