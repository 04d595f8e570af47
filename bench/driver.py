"""Run one workload once for one system, in that system's virtualenv.

    python driver.py --system NAME --workload WORKLOAD --n N --out result.json [--seconds S]

The store is made fresh first (Redis FLUSHALL, a new PostgreSQL database or a
new SQLite file), so every run starts from an empty store. The result, or the
error, goes to --out as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers import SYSTEMS, NotSupported  # noqa: E402

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))


def servers_state() -> dict:
    return json.loads((HERE / ".work" / "servers.json").read_text())


def prepare_store(store: str, work: Path, system: str) -> None:
    if store == "redis":
        state = servers_state()
        port = str(state["redis"]["port"])
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, "flushall"], check=True,
                       stdout=subprocess.DEVNULL)
        os.environ["BENCH_REDIS_URL"] = state["redis"]["url"]
    elif store == "postgres":
        state = servers_state()
        port = str(state["postgres"]["port"])
        psql = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                "-d", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
        subprocess.run([*psql, "-c", "DROP DATABASE IF EXISTS bench WITH (FORCE)"], check=True)
        subprocess.run([*psql, "-c", "CREATE DATABASE bench"], check=True)
        os.environ["BENCH_PG_DSN"] = f"postgresql://postgres@127.0.0.1:{port}/bench"
    elif store == "sqlite":
        path = work / f"{system}.db"
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.environ["BENCH_SQLITE_PATH"] = str(path)


def versions(packages: list[str]) -> dict:
    out = {}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = None
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", required=True, choices=sorted(SYSTEMS))
    ap.add_argument("--workload", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--seconds", type=float, default=10.0, help="api, scale: length of the HTTP load window")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    module, store, variant, _venv = SYSTEMS[a.system]
    work = Path(os.environ.get("BENCH_WORK", HERE / ".work")) / "runs"  # BENCH_WORK: the smoke test's
    work.mkdir(parents=True, exist_ok=True)
    os.environ["BENCH_MARK_FILE"] = str(work / f"{a.system}.marks")
    os.environ["BENCH_VARIANT"] = variant
    result: dict = {"system": a.system, "workload": a.workload, "n": a.n,
                    "started": time.time(), "loadavg_start": os.getloadavg()[0]}
    peer = None
    try:
        prepare_store(store, work, a.system)
        from harness import Bench, Marks

        marks = Marks(Path(os.environ["BENCH_MARK_FILE"]))
        peer = importlib.import_module(f"peers.{module}").Peer(variant)
        result["label"] = peer.label
        result["versions"] = versions(peer.packages)
        result["config"] = {m: peer.describe(m) for m in ("cpu", "io")}
        peer.setup()
        bench = Bench(peer, marks, work, a.timeout)
        fn = getattr(bench, a.workload)
        args = {"memory": (a.n, a.idle), "api": (a.n, a.seconds)}.get(a.workload, (a.n,))
        kwargs = {"http_seconds": a.seconds} if a.workload == "scale" else {}
        result["result"] = fn(*args, **kwargs)
    except NotSupported as e:
        result["na"] = str(e)
    except Exception as e:  # recorded, the runner goes on with the next run
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()[-4000:]
    finally:
        if peer is not None:
            try:
                peer.close()
            except Exception:
                pass
    result["loadavg_end"] = os.getloadavg()[0]  # other load on the machine skews the numbers
    Path(a.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
