"""Start and stop the Redis and PostgreSQL servers the benchmark needs.

Both listen on 127.0.0.1 only, on non-default ports, with their data in a
temporary directory. State (ports, pids, data dirs) goes to
``bench/.work/servers.json`` so that ``stop`` can find them again.

    python3 bench/servers.py start [--redis] [--postgres]
    python3 bench/servers.py stop
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATE = HERE / ".work" / "servers.json"
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "16379"))
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "15432"))
PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"  # the OS user the server runs as when we are root


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *cmd]
    return cmd


def start_redis(state: dict) -> None:
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("redis-server not found (apt-get install -y redis-server)")
    if not _port_free(REDIS_PORT):
        raise RuntimeError(f"port {REDIS_PORT} is busy; set BENCH_REDIS_PORT")
    d = Path(tempfile.mkdtemp(prefix="offload-bench-redis-"))
    pidfile = d / "redis.pid"
    # No persistence: every system gets the same in-memory Redis.
    subprocess.run(
        [exe, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(d),
         "--save", "", "--appendonly", "no", "--daemonize", "yes",
         "--pidfile", str(pidfile), "--logfile", str(d / "redis.log")],
        check=True,
    )
    _wait_port(REDIS_PORT)
    for _ in range(50):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.1)
    state["redis"] = {"dir": str(d), "pid": int(pidfile.read_text()), "port": REDIS_PORT,
                      "url": f"redis://127.0.0.1:{REDIS_PORT}/0"}


def start_postgres(state: dict) -> None:
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN}")
    if not _port_free(PG_PORT):
        raise RuntimeError(f"port {PG_PORT} is busy; set BENCH_PG_PORT")
    d = Path(tempfile.mkdtemp(prefix="offload-bench-pg-"))
    data = d / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(d, PG_USER)
        shutil.chown(data, PG_USER)
    subprocess.run(_as_pg_user([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust",
                                "-U", "postgres", "-E", "UTF8", "--no-locale"]),
                   check=True, stdout=subprocess.DEVNULL)
    # Stock settings apart from where it listens and how many clients it takes.
    opts = (f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -k {d} -c max_connections=200")
    subprocess.run(_as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts,
                                "-l", str(d / "postgres.log"), "-w", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    _wait_port(PG_PORT)
    pid = int((data / "postmaster.pid").read_text().split()[0])
    state["postgres"] = {"dir": str(d), "data": str(data), "pid": pid, "port": PG_PORT,
                         "dsn": f"postgresql://postgres@127.0.0.1:{PG_PORT}/postgres"}


def stop(state: dict) -> None:
    pg = state.pop("postgres", None)
    if pg:
        r = subprocess.run(_as_pg_user([str(PG_BIN / "pg_ctl"), "-D", pg["data"], "-m", "fast",
                                        "-w", "stop"]), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            _kill(pg["pid"])
        shutil.rmtree(pg["dir"], ignore_errors=True)
    rd = state.pop("redis", None)
    if rd:
        _kill(rd["pid"])
        shutil.rmtree(rd["dir"], ignore_errors=True)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def load_state() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save_state(state: dict) -> None:
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps(state, indent=2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("action", choices=["start", "stop"])
    ap.add_argument("--redis", action="store_true")
    ap.add_argument("--postgres", action="store_true")
    a = ap.parse_args()
    state = load_state()
    if a.action == "stop":
        stop(state)
        save_state(state)
        return 0
    try:
        if a.redis and "redis" not in state:
            start_redis(state)
        if a.postgres and "postgres" not in state:
            start_postgres(state)
    finally:
        save_state(state)
    print(json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
