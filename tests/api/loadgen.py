"""Status GETs per second one ``offload serve`` process sustains.

    python -m tests.api.loadgen --app tests.api.tasks_api:app --seconds 10 --procs 4 --conns 16

Starts ``offload serve`` (rate limit off) on a fresh SQLite file, submits one job, then
runs ``--procs`` load processes, each with ``--conns`` keep-alive connections doing
``GET /api/jobs/{id}`` back to back, and prints requests per second (non-200 counted apart).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path

import httpx


async def _hammer(base: str, path: str, token: str, conns: int, seconds: float) -> tuple[int, int]:
    ok = bad = 0
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits) as c:
        end = time.monotonic() + seconds

        async def one() -> None:
            nonlocal ok, bad
            while time.monotonic() < end:
                r = await c.get(path)
                if r.status_code == 200:
                    ok += 1
                else:
                    bad += 1

        await asyncio.gather(*(one() for _ in range(conns)))
    return ok, bad


def _proc(args: tuple[str, str, str, int, float]) -> tuple[int, int]:
    return asyncio.run(_hammer(*args))


def main() -> None:
    from offload import App
    from offload.service import TokenService
    from tests.api.conftest import start_server
    from tests.support.procs import Procs

    p = argparse.ArgumentParser()
    p.add_argument("--app", default="tests.api.tasks_api:app")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--conns", type=int, default=16)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'jobs.db'}"
        procs = Procs(Path(tmp), url, env={"OFFLOAD_API_POLL_RATE": "0"})
        try:
            base = start_server(procs, app=a.app)
            token = TokenService(App(url)).create("bench")[1]
            job = httpx.post(f"{base}/api/jobs", json={"task": "parked"}, headers={"Authorization": f"Bearer {token}"})
            path = job.headers["location"]
            with multiprocessing.Pool(a.procs) as pool:
                started = time.monotonic()
                results = pool.map(_proc, [(base, path, token, a.conns, a.seconds)] * a.procs)
                elapsed = time.monotonic() - started
            ok = sum(r[0] for r in results)
            bad = sum(r[1] for r in results)
            print(
                f"{ok / a.seconds:.0f} status GETs/s ({ok} ok, {bad} other, {elapsed:.1f}s wall, "
                f"{a.procs}x{a.conns} connections)"
            )
        finally:
            procs.cleanup()


if __name__ == "__main__":
    main()
