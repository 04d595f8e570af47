"""Load generator for the `api` workload (standard library only).

    python loadgen.py --port P --token T --ids ids.txt [--procs 2] [--conns 8]
                      [--seconds 10] [--warmup 1] [--max-requests 2000000] [--rate R]

``--procs`` processes, each with ``--conns`` threads, every thread with its own
keep-alive HTTP/1.1 connection to 127.0.0.1:P, do ``GET /api/jobs/{id}`` on ids drawn
at random from the file (one id a line). Without ``--rate`` each thread sends its next
request as soon as the last answer came (closed loop: the rate the server can reach).
With ``--rate R`` the requests go out on a fixed schedule, R per second in all, each
thread's evenly spaced (open loop); a request's latency then runs from the moment it
was due, not from when it was sent, so a server that falls behind is charged for the
wait of every request queued behind a slow one. Requests that finish during the
warm-up are not counted. The run ends after ``--seconds`` (after the warm-up) or once
``--max-requests`` were made in all, whichever comes first. One JSON object goes to
stdout: requests per second (200 answers only), latency percentiles in ms, and the
non-200 answers and connection errors counted apart.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import sys
import threading
import time


def _thread(port: int, token: str, ids: list[str], begin: float, end: float, cap: int,
            interval: float, out: dict) -> None:
    headers = {"Authorization": f"Bearer {token}", "Connection": "keep-alive"}
    rnd = random.Random()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat: list[float] = []
    statuses: dict[int, int] = {}
    errors = made = 0
    last = 0.0
    # Open loop: the first request is due at a random point of the first interval, so
    # the threads' schedules interleave instead of firing together.
    due = time.time() + rnd.random() * interval
    while made < cap:
        if interval:
            ahead = due - time.time()
            if ahead > 0:
                time.sleep(ahead)
        t0 = time.time()
        if t0 >= end:
            break
        path = "/api/jobs/" + rnd.choice(ids)
        # perf_counter's value at the moment the request was due (open loop) or sent.
        s = time.perf_counter() - (max(0.0, t0 - due) if interval else 0.0)
        due += interval
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        took = time.perf_counter() - s
        done = time.time()
        if t0 < begin:
            continue  # warm-up
        made += 1
        last = max(last, done)
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        if resp.status == 200:
            lat.append(took * 1000)
    conn.close()
    out.update(lat=lat, statuses=statuses, errors=errors, last=last)


def _process(args: tuple) -> dict:
    port, token, ids, conns, begin, end, cap, interval = args
    results = [{} for _ in range(conns)]
    threads = [threading.Thread(target=_thread, args=(port, token, ids, begin, end, cap, interval, results[i]))
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = [x for r in results for x in r["lat"]]
    statuses: dict[int, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {"lat": lat, "statuses": statuses, "errors": sum(r["errors"] for r in results),
            "last": max(r["last"] for r in results)}


def _pct(sorted_values: list[float], q: float) -> float:
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--ids", required=True, help="file with one job id a line")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--conns", type=int, default=8, help="connections (threads) per process")
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
    interval = a.procs * a.conns / a.rate if a.rate > 0 else 0.0  # between one thread's requests
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
