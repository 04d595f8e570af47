"""The chaos run: real ``offload worker`` processes drain N jobs while they are killed
with SIGKILL every few seconds and, now and then, stopped (SIGSTOP) past their lease
and woken again; then the history checker and the store say whether anything was
lost, completed twice or run twice at once.

    python bench/chaos.py --store sqlite|postgres|both [--jobs 15000] [--workers 3]
        [--kill-every 2] [--stop-every 15] [--seed N] [--pg-url URL] [--json PATH]

Each store is fresh: a SQLite file in a temporary folder; for PostgreSQL a throwaway
cluster the script starts (tests/support/postgres.py), or a schema of its own on the
server ``--pg-url`` names, dropped afterwards. The code measured is this checkout's
(``src/`` comes first on the path, the workers' too). Exit status: 0 when no job was
lost, completed twice, run twice at once or kept a stale run's result; 1 otherwise;
the work folder (ledger, worker logs) is then kept for the evidence. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(HERE)]
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])

from chaos_figures import Figures, judge, table  # noqa: E402
from chaos_fleet import Fleet  # noqa: E402
from tests.e2e.tasks_e2e import make_app  # noqa: E402
from tests.support.ledger import ENV as LEDGER_ENV  # noqa: E402
from tests.support.procs import Procs  # noqa: E402

from offload import App  # noqa: E402

TASK = "work"  # tests/e2e/tasks_e2e.py: ledgered, progress, returns its lease token


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--jobs", type=int, default=15_000, help="jobs per store (default 15000)")
    p.add_argument("--workers", type=int, default=3, help="live worker processes (default 3)")
    p.add_argument("--concurrency", type=int, default=4, help="slots per worker (default 4)")
    p.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills, ±50%% (default 2)")
    p.add_argument("--stop-every", type=float, default=15.0, help="seconds between pauses, ±50%%; 0: none")
    p.add_argument("--pause", type=float, default=None, help="seconds a pause lasts (default lease + 1.5)")
    p.add_argument("--lease", type=float, default=2.0, help="OFFLOAD_LEASE_S of the workers (default 2)")
    p.add_argument("--heartbeat", type=float, default=0.5, help="OFFLOAD_HEARTBEAT_S (default 0.5)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: a random one, printed)")
    p.add_argument("--pg-url", default=None, help="use this PostgreSQL server (a schema of its own) instead")
    p.add_argument("--timeout", type=float, default=1800.0, help="give up draining after this long (default 1800 s)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--work", type=Path, default=None, help="work folder (default: a new temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (kept anyway on failure)")
    args = p.parse_args(argv)
    if args.pause is None:
        args.pause = args.lease + 1.5
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    return args


# -- stores -----------------------------------------------------------------------------------


@contextlib.contextmanager
def open_store(store: str, args: argparse.Namespace, work: Path) -> Iterator[str]:
    """The URL of a fresh store of kind ``store``, removed afterwards."""
    if store == "sqlite":
        yield f"sqlite:///{work / 'jobs.db'}"
        return
    from tests.support.postgres import PostgresCluster

    cluster = None
    base = args.pg_url
    if base is None:
        cluster = PostgresCluster()
        cluster.start()
        _name, base = cluster.acquire_database()
    schema = f"chaos_{secrets.token_hex(4)}"
    try:
        yield f"{base}{'&' if '?' in base else '?'}schema={schema}"
    finally:
        if cluster is not None:
            cluster.destroy()
        else:
            import psycopg

            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# -- jobs -------------------------------------------------------------------------------------


def job_mix(n: int, rng: random.Random) -> list[tuple[tuple[()], dict[str, Any]]]:
    """Quick jobs mostly, some with progress reports; a fifth of a few hundred ms that
    report every ~50 ms, a quarter of those deaf to the request to stop."""
    calls: list[tuple[tuple[()], dict[str, Any]]] = []
    for _ in range(n):
        x = rng.random()
        if x < 0.60:
            kw: dict[str, Any] = {}
        elif x < 0.80:
            kw = {"reports": 5}
        else:
            seconds = round(rng.uniform(0.1, 0.5), 3)
            kw = {"seconds": seconds, "reports": max(1, round(seconds / 0.05)), "cooperative": x < 0.95}
        calls.append(((), kw))
    return calls


def enqueue(app: App, n: int, rng: random.Random) -> list[str]:
    """The jobs, in chunks of 1,000; enough attempts that no job fails for being
    interrupted too often (every job must complete)."""
    calls = job_mix(n, rng)
    ids: list[str] = []
    for i in range(0, n, 1000):
        ids += [h.id for h in app.enqueue_many(TASK, calls[i : i + 1000], max_attempts=100)]
    return ids


def pending(app: App) -> int:
    """Jobs not in a final state."""
    waiting = ("scheduled", "queued", "running", "retrying")
    return sum(n for by in app.backend.job_counts().values() for status, n in by.items() if status in waiting)


# -- the attack -------------------------------------------------------------------------------


def attack(fleet: Fleet, app: App, args: argparse.Namespace, rng: random.Random) -> float | None:
    """Kill and pause workers until no job is left; the seconds that took, or None if
    ``--timeout`` passed first."""

    def every(s: float) -> float:
        return time.monotonic() + s * rng.uniform(0.5, 1.5) if s > 0 else float("inf")

    start = time.monotonic()
    next_kill, next_stop, wake_at, next_look = every(args.kill_every), every(args.stop_every), float("inf"), 0.0
    try:
        while True:
            now = time.monotonic()
            if now >= next_look:
                fleet.replace_exited()
                if pending(app) == 0:
                    return now - start
                if now - start > args.timeout:
                    return None
                next_look = now + 0.2
            if now >= wake_at:
                fleet.resume()
                wake_at, next_stop = float("inf"), every(args.stop_every)
            if now >= next_kill:
                fleet.kill_one()
                next_kill = every(args.kill_every)
            if fleet.paused is None and now >= next_stop:
                fleet.pause_one(app)
                wake_at, next_stop = time.monotonic() + args.pause, float("inf")
            time.sleep(0.02)
    finally:
        fleet.resume()


def run_store(store: str, args: argparse.Namespace, work: Path) -> Figures:
    rng = random.Random(f"{args.seed}-{store}")
    work.mkdir(parents=True)
    ledger_path = work / "ledger.jsonl"
    env = {
        "OFFLOAD_LEASE_S": str(args.lease),
        "OFFLOAD_HEARTBEAT_S": str(args.heartbeat),
        "OFFLOAD_POLL_S": "0.2",
        "OFFLOAD_KEEP_COMPLETED": str(10 * args.jobs),  # the check reads every job back
        LEDGER_ENV: str(ledger_path),
    }
    fig = Figures(store=store, jobs=args.jobs, lease_s=args.lease)
    with open_store(store, args, work) as url:
        app = make_app(url)
        procs = Procs(work, url, env=env)
        sqlite_file = work / "jobs.db" if store == "sqlite" else None
        fleet = Fleet(procs, args.workers, args.concurrency, rng, sqlite_file)
        try:
            ids = enqueue(app, args.jobs, rng)
            print(f"{store}: {len(ids):,} jobs queued; {args.workers} workers, seed {args.seed}", flush=True)
            fleet.start()
            took = attack(fleet, app, args, rng)
            if took is None:
                print(f"{store}: gave up after {args.timeout:g} s with {pending(app):,} jobs not done", flush=True)
            fig.wall_s = took if took is not None else float("nan")
            fig.exited = [f"{p.name} (pid {p.pid}) exited with {p.popen.returncode}" for p in fleet.exited]
            fleet.stop_all()
            judge(fig, app, ids, ledger_path, fleet, (p.log_path for p in procs.started))
        finally:
            procs.cleanup()
            app.close()
    return fig


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    work = args.work or Path(tempfile.mkdtemp(prefix="offload-chaos-"))
    figs = []
    for store in stores:
        fig = run_store(store, args, work / store)
        figs.append(fig)
        print(f"{store}: {'FAILED' if fig.failed else 'ok'}", flush=True)
        problems = (("lost", fig.lost), ("twice", fig.twice), ("overlap", fig.overlaps), ("late", fig.late_accepted))
        for label, ids in problems:
            if ids:
                print(f"  {label}: {len(ids)} e.g. {ids[:5]}")
        for line in fig.exited:
            print(f"  a worker ended on its own: {line}")
        for slow in fig.slow:
            print(f"  back in line late: {slow}")
    print(table(figs))
    failed = any(f.failed for f in figs)
    if args.json is not None:
        args.json.write_text(json.dumps({"seed": args.seed, "stores": [f.to_json() for f in figs]}, indent=2))
    if failed or args.keep:
        print(f"work folder (ledger, worker logs): {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
