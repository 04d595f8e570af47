"""Run every workload for every system and write bench/results/<name>.{json,md}.

Standard library only: each run happens in a subprocess (driver.py) inside the
system's own virtualenv, so a system that fails to import or crashes is
recorded and the others go on.

    python3 bench/runner.py [--quick] [--systems a,b] [--workloads x,y] [--repeats N]
                            [--size scale=200000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402
import servers  # noqa: E402
from peers import SYSTEMS  # noqa: E402

WORKLOADS = ["enqueue", "bulk", "drain", "latency", "progress", "io", "memory", "api", "scale"]
FULL = {"enqueue": 10_000, "bulk": 10_000, "drain": 10_000, "latency": 200,
        "progress": 1_000, "io": 1_000, "memory": 1_000, "api": 10_000, "scale": 1_000_000}
QUICK = {"enqueue": 200, "bulk": 200, "drain": 200, "latency": 20,
         "progress": 20, "io": 50, "memory": 200, "api": 2_000, "scale": 50_000}
ONCE = {"memory", "scale"}  # long idle window / a long set-up: one run is enough
API_SECONDS = {False: 10.0, True: 5.0}  # length of the api load window (full, quick)
TIMEOUT = {"scale": 3600}  # per driver run, s; default 1200


def run_one(python: Path, system: str, workload: str, n: int, idle: float, seconds: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    limit = TIMEOUT.get(workload, 1200)
    cmd = [str(python), str(HERE / "driver.py"), "--system", system, "--workload", workload,
           "--n", str(n), "--idle", str(idle), "--seconds", str(seconds), "--out", str(out),
           "--timeout", str(min(600.0, limit / 2))]
    try:
        p = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=limit)
        if out.stat().st_size:
            return json.loads(out.read_text())
        return {"error": f"driver exited {p.returncode}: {p.stderr[-2000:]}"}
    except subprocess.TimeoutExpired:
        return {"error": f"driver timed out after {limit} s"}
    finally:
        out.unlink(missing_ok=True)


def aggregate(runs: list[dict]) -> dict:
    ok = [r["result"] for r in runs if "result" in r]
    agg: dict = {"repeats": len(ok)}
    for key in (ok[0] if ok else {}):
        vals = [r[key] for r in ok if isinstance(r.get(key), (int, float))]
        if vals:
            agg[key] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
                        "values": vals}
        elif ok[0].get(key) is not None:
            agg[key] = ok[0][key]
    return agg


def machine_info() -> dict:
    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                   platform.processor())
    with open("/proc/meminfo") as f:
        mem = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal"))

    def version(cmd: list[str]) -> str | None:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**20, 1),
            "kernel": platform.release(), "os": platform.platform(),
            "python": platform.python_version(),
            "redis": version(["redis-server", "--version"]),
            "postgres": version([str(servers.PG_BIN / "postgres"), "--version"])}


def short_versions(m: dict) -> str:
    redis = (m.get("redis") or "").split()
    redis_v = next((w[2:] for w in redis if w.startswith("v=")), "?")
    pg = (m.get("postgres") or "").split()
    return f"Redis {redis_v}, PostgreSQL {pg[2] if len(pg) > 2 else '?'}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny N, one repeat: a smoke run")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--repeats", type=int, default=None, help="default 3 (1 with --quick)")
    ap.add_argument("--idle", type=float, default=None, help="idle CPU window, s (default 30)")
    ap.add_argument("--name", default="latest", help="results file stem in bench/results/")
    ap.add_argument("--size", action="append", default=[], metavar="WORKLOAD=N",
                    help="override N of one workload, e.g. --size scale=200000 (repeatable)")
    a = ap.parse_args()

    systems = [s for s in a.systems.split(",") if s]
    workloads = [w for w in a.workloads.split(",") if w]
    for s in systems:
        if s not in SYSTEMS:
            ap.error(f"unknown system {s}; known: {', '.join(SYSTEMS)}")
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}; known: {', '.join(WORKLOADS)}")
    sizes = dict(QUICK if a.quick else FULL)
    for item in a.size:
        w, _, n = item.partition("=")
        if w not in sizes or not n.replace("_", "").isdigit():
            ap.error(f"--size {item}: expected WORKLOAD=N with a known workload")
        sizes[w] = int(n)
    repeats = a.repeats or (1 if a.quick else 3)
    idle = a.idle if a.idle is not None else (3.0 if a.quick else 30.0)

    stores = {SYSTEMS[s][1] for s in systems}
    state = servers.load_state()
    started = False
    if ("redis" in stores and "redis" not in state) or ("postgres" in stores and "postgres" not in state):
        if "redis" in stores and "redis" not in state:
            servers.start_redis(state)
        if "postgres" in stores and "postgres" not in state:
            servers.start_postgres(state)
        servers.save_state(state)
        started = True

    doc: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": a.quick,
                 "repeats": repeats, "sizes": {w: sizes[w] for w in workloads},
                 "idle_window_s": idle, "api_seconds": API_SECONDS[a.quick],
                 "machine": machine_info(), "systems": {}}
    doc["machine"]["servers"] = short_versions(doc["machine"])
    t_all = time.time()
    try:
        for system in systems:
            venv = SYSTEMS[system][3]
            python = HERE / f".venv-{venv}" / "bin" / "python"
            entry: dict = {"workloads": {}}
            doc["systems"][system] = entry
            if not python.exists():
                entry["error"] = f"virtualenv missing: {python.parent.parent}"
                print(f"[{system}] skipped: {entry['error']}", flush=True)
                continue
            for w in workloads:
                runs = []
                for i in range(1 if w in ONCE else repeats):
                    t = time.time()
                    r = run_one(python, system, w, sizes[w], idle, API_SECONDS[a.quick])
                    runs.append(r)
                    entry.setdefault("label", r.get("label"))
                    if r.get("versions"):
                        entry["versions"] = r["versions"]
                        entry["config"] = r.get("config")
                    print(f"[{system}] {w} #{i + 1}: {report.brief(r)} ({time.time() - t:.1f} s)",
                          flush=True)
                    if "result" not in r:
                        break  # n/a or error: repeating will not change it
                wl = {"runs": runs, **aggregate(runs)}
                for key in ("na", "error"):
                    if key in runs[-1]:
                        wl[key] = runs[-1][key]
                entry["workloads"][w] = wl
                err = runs[-1].get("error", "")
                if "ImportError" in err or "ModuleNotFoundError" in err:
                    entry["error"] = err  # no point trying its other workloads
                    print(f"[{system}] skipped: cannot import", flush=True)
                    break
    finally:
        if started:
            servers.stop(state)
            servers.save_state(state)
    doc["duration_s"] = time.time() - t_all
    outdir = HERE / "results"
    outdir.mkdir(exist_ok=True)
    (outdir / f"{a.name}.json").write_text(json.dumps(doc, indent=2))
    (outdir / f"{a.name}.md").write_text(report.markdown(doc))
    print(f"wrote {outdir / (a.name + '.md')} and .json ({doc['duration_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
