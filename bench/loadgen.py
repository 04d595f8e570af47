"""Load generator for the `api` workload (standard library only).

    python loadgen.py --port P --token T --ids ids.txt [--procs 2] [--conns 8]
                      [--seconds 10] [--warmup 1] [--max-requests 2000000] [--rate R]

``--procs`` processes, each with ``--conns`` keep-alive HTTP/1.1 connections to
127.0.0.1:P served by one thread, do ``GET /api/jobs/{id}`` on ids drawn at random
from the file (one id a line). Without ``--rate`` each connection sends its next
request as soon as the last answer came (closed loop: the rate the server can reach).
With ``--rate R`` the requests go out on a fixed schedule, R per second in all, each
connection's evenly spaced (open loop); a request's latency then runs from the moment it
was due, not from when it was sent, so a server that falls behind is charged for the
wait of every request queued behind a slow one. Requests that finish during the
warm-up are not counted. The run ends after ``--seconds`` (after the warm-up) or once
``--max-requests`` were made in all, whichever comes first. One JSON object goes to
stdout: requests per second (200 answers only), latency percentiles in ms, and the
non-200 answers and connection errors counted apart.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import selectors
import socket
import sys
import time


class _Conn:
    """One keep-alive connection: at most one request in flight."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.sent_at = 0.0  # perf_counter at which the request in flight was due (open loop) or sent
        self.t0 = 0.0  # time.time() at which it went out
        self.busy = False

    def answer(self) -> tuple[int, int] | None:
        """(status, bytes used) once a whole answer is in the buffer, else None."""
        head_end = self.buf.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buf[:head_end].decode("latin-1").lower()
        status = int(head[9:12])
        length = 0
        for line in head.split("\r\n")[1:]:
            if line.startswith("content-length:"):
                length = int(line[15:])
                break
        else:
            if "transfer-encoding" in head:
                raise ValueError("chunked answers are not read")
        used = head_end + 4 + length
        return (status, used) if len(self.buf) >= used else None


def _process(args: tuple) -> dict:
    """The connections of one process, on one thread: a selector waits on every socket,
    and a request goes out on a connection as soon as it is free (closed loop) or at its
    due time (open loop: each connection's requests evenly spaced, latency from the due
    time). Prebuilt request bytes and a minimal reader of the answers keep the load
    generator's own CPU small beside the server on the same machine."""
    port, token, ids, nconns, begin, end, cap, interval = args
    rnd = random.Random()
    prefix = b"GET /api/jobs/"
    suffix = f" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    paths = [i.encode() for i in ids]
    sel = selectors.DefaultSelector()
    conns = [_Conn(port) for _ in range(nconns)]
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ, c)
    # Open loop: the first requests are due at random points of the first interval, so
    # the connections' schedules interleave instead of firing together.
    now = time.time()
    due = {c: now + rnd.random() * interval for c in conns} if interval else {}
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = made = 0
    last = 0.0

    def send(c: _Conn) -> None:
        c.t0 = time.time()
        late = max(0.0, c.t0 - due[c]) if interval else 0.0
        c.sent_at = time.perf_counter() - late
        if interval:
            due[c] += interval
        c.busy = True
        c.sock.sendall(prefix + rnd.choice(paths) + suffix)

    def reconnect(c: _Conn) -> _Conn:
        sel.unregister(c.sock)
        c.sock.close()
        fresh = _Conn(port)
        sel.register(fresh.sock, selectors.EVENT_READ, fresh)
        if interval:
            due[fresh] = due.pop(c)
        return fresh

    while made < cap:
        now = time.time()
        if now >= end and (not any(c.busy for c in conns) or now >= end + 30):
            break  # (an answer 30 s late is not waited for: it is not counted)
        timeout = 0.05
        for i, c in enumerate(conns):
            if c.busy or now >= end:
                continue
            if interval and due[c] > now:
                timeout = min(timeout, due[c] - now)
                continue
            try:
                send(c)
            except OSError:
                errors += 1
                conns[i] = reconnect(c)
        for key, _ in sel.select(timeout):
            c = key.data
            try:
                chunk = c.sock.recv(65536)
                if not chunk:
                    raise OSError("closed")
                c.buf += chunk
                got = c.answer()
            except (OSError, ValueError):
                errors += 1
                conns[conns.index(c)] = reconnect(c)
                continue
            if got is None:
                continue
            status, used = got
            took = time.perf_counter() - c.sent_at
            c.buf = c.buf[used:]
            c.busy = False
            if c.t0 < begin:
                continue  # warm-up
            made += 1
            last = max(last, time.time())
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                lat.append(took * 1000)
    for c in conns:
        c.sock.close()
    return {"lat": lat, "statuses": statuses, "errors": errors, "last": last}


def _pct(sorted_values: list[float], q: float) -> float:
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--ids", required=True, help="file with one job id a line")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conns", type=int, default=8, help="connections per process")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--max-requests", type=int, default=2_000_000)
    ap.add_argument("--rate", type=float, default=0.0, help="requests per second in all (open loop); 0: closed loop")
    a = ap.parse_args()

    with open(a.ids) as f:
        ids = [ln.strip() for ln in f if ln.strip()]
    if not ids:
        print(json.dumps({"error": "no ids"}))
        return 1
    cap = max(1, a.max_requests // (a.procs * a.conns))
    begin = time.time() + 0.5 + a.warmup  # every process is up well before the warm-up ends
    end = begin + a.seconds
    interval = a.procs * a.conns / a.rate if a.rate > 0 else 0.0  # between one connection's requests
    with multiprocessing.Pool(a.procs) as pool:
        parts = pool.map(_process, [(a.port, a.token, ids, a.conns, begin, end, cap, interval)] * a.procs)
    lat = sorted(x for p in parts for x in p["lat"])
    statuses: dict[str, int] = {}
    for p in parts:
        for k, v in p["statuses"].items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    window = min(a.seconds, max(p["last"] for p in parts) - begin) if lat else a.seconds
    out = {
        "ok": len(lat), "seconds": window, "rate": len(lat) / window if window > 0 else 0.0,
        "p50_ms": _pct(lat, 50) if lat else None, "p99_ms": _pct(lat, 99) if lat else None,
        "max_ms": lat[-1] if lat else None,
        "non_200": sum(v for k, v in statuses.items() if k != "200"), "statuses": statuses,
        "conn_errors": sum(p["errors"] for p in parts),
        "procs": a.procs, "conns_per_proc": a.conns, "warmup_s": a.warmup, "target_rate": a.rate or None,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
