"""Connection limits of ``offload serve`` without a proxy, with real sockets against a
real server: a deadline for request heads, the keep-alive idle timeout, and a cap on
open connections that neither silent sockets nor a flood can turn into an outage."""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.conftest import ApiServer, start_server
from tests.support.procs import Procs, wait_for

PARTIAL = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: "


class Peer:
    """One client socket; ``closed()`` tells, without blocking, whether the server closed it."""

    def __init__(self, base: str, send: bytes = b"") -> None:
        url = urlsplit(base)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=10)
        self.received = b""
        self.gone = False
        if send:
            self.sock.sendall(send)
        self.sock.setblocking(False)

    def closed(self) -> bool:
        while not self.gone:
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                return False
            except OSError:  # reset
                self.gone = True
                break
            self.received += chunk
            self.gone = not chunk
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve(tmp_path, api: ApiServer) -> Iterator:
    """``serve(*options, **env)``: a server of its own on the API tests' store, with
    ``offload serve`` options and OFFLOAD_API_* settings."""
    procs = Procs(tmp_path, api.url, env={"OFFLOAD_API_POLL_RATE": "0"})

    def start(*options: str, **env: str) -> str:
        return start_server(procs, extra=options, env={f"OFFLOAD_API_{k.upper()}": v for k, v in env.items()})

    yield start
    procs.cleanup()


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    opened: list[Peer] = []
    yield opened
    for p in opened:
        p.close()


def healthy(base: str) -> None:
    r = httpx.get(f"{base}/api/health", timeout=5)
    assert r.status_code == 200, r.text


def test_a_head_not_complete_within_the_timeout_is_closed(serve, peers):
    base = serve(header_timeout_s="1", idle_timeout_s="1")
    silent = [Peer(base) for _ in range(20)]
    partial = [Peer(base, PARTIAL) for _ in range(20)]
    dribbler = Peer(base, b"G")  # a byte at a time keeps no connection alive past the deadline
    peers.extend([*silent, *partial, dribbler])
    sent = iter(PARTIAL[1:] + b"y" * 10_000)

    def all_closed() -> bool:
        if not dribbler.closed():
            with contextlib.suppress(OSError):
                dribbler.sock.send(bytes([next(sent)]))
        healthy(base)  # meanwhile, real requests are answered
        return all(p.closed() for p in peers)

    wait_for(all_closed, timeout=20, interval=0.1, message="every slow-header connection closed by the server")
    assert all(p.received == b"" for p in silent), "a connection that sent nothing gets no answer"
    for p in [*partial, dribbler]:
        assert p.received.startswith(b"HTTP/1.1 408 "), p.received[:100]
        assert b"connection: close" in p.received and b'"request_timeout"' in p.received
    healthy(base)


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(serve, peers):
    base = serve("--idle-timeout", "1", "--header-timeout", "30")
    p = Peer(base, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    peers.append(p)
    wait_for(lambda: b'"status"' in p.received or p.closed(), timeout=10, message="an answer")
    assert p.received.startswith(b"HTTP/1.1 200") and not p.gone, p.received[:200]
    # the default is 5 s: closing well before it shows the setting applies
    wait_for(p.closed, timeout=3.5, interval=0.05, message="the idle connection closed")


def test_silent_sockets_past_the_cap_make_room_for_real_requests(serve, peers):
    """A flood of sockets that never send a head: those silent for a second are closed
    to stay under the cap, real requests are answered during the flood and after it (a
    clean 503 while every silent socket is younger than that, never a reset), and the
    last of the flood go at the header timeout."""
    cap = 100
    base = serve(max_connections=str(cap), header_timeout_s="3")
    flood_done = threading.Event()

    def flood() -> None:
        try:
            for i in range(1500):
                peers.append(Peer(base, PARTIAL if i % 2 else b""))
        finally:
            flood_done.set()

    def ask() -> int:
        r = httpx.get(f"{base}/api/health", timeout=5)  # a new connection each time
        assert r.status_code in (200, 503), r.text
        if r.status_code == 503:
            assert r.headers["connection"] == "close" and r.headers["retry-after"], r.headers
        return r.status_code

    thread = threading.Thread(target=flood)
    thread.start()
    answers = []
    while not flood_done.is_set():
        answers.append(ask())
    thread.join()
    assert len(peers) == 1500
    wait_for(lambda: ask() == 200, timeout=10, message="a real request answered 200 while the flood is still open")
    assert any(p.closed() for p in peers[:cap]), "the oldest silent sockets made room"
    wait_for(
        lambda: sum(not p.closed() for p in peers) <= cap,
        timeout=10,
        message=lambda: f"at most {cap} flood sockets open, have {sum(not p.closed() for p in peers)}",
    )
    wait_for(lambda: all(p.closed() for p in peers), timeout=20, message="the flood closed at the header timeout")
    healthy(base)


def test_past_the_cap_with_every_connection_busy_a_new_one_gets_503(serve, peers, api):
    """Every slot holds a live stream: a new connection is answered 503 with
    ``Connection: close`` at once, which every client reads (no reset); once the streams
    end, requests are served again."""
    cap = 20
    base = serve(max_connections=str(cap), max_streams="100", header_timeout_s="5")
    token = api.token("cap-user")
    stream = f"GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    streams = [Peer(base, stream) for _ in range(cap)]
    peers.extend(streams)
    wait_for(
        lambda: all(not s.closed() and s.received.startswith(b"HTTP/1.1 200") for s in streams),
        timeout=20,
        message="every stream open",
    )
    r = httpx.get(f"{base}/api/health", timeout=5)
    assert r.status_code == 503 and r.headers["connection"] == "close", r.text
    assert r.json()["error"]["code"] == "unavailable" and r.headers["retry-after"] == "1"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/api/health", timeout=5)
    assert refused.value.code == 503
    flood = [Peer(base, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n") for _ in range(200)]
    peers.extend(flood)
    wait_for(lambda: all(p.closed() for p in flood), timeout=20, message="every refused connection closed")
    assert all(p.received.startswith(b"HTTP/1.1 503 ") for p in flood)
    assert all(not s.closed() for s in streams), "a refusal touched a live stream"
    for s in streams:
        s.close()
    wait_for(lambda: httpx.get(f"{base}/api/health", timeout=5).status_code == 200, timeout=10, message="served again")
