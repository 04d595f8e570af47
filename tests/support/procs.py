"""Real processes for end-to-end tests: ``offload worker`` and CLI commands as
subprocesses on a SQLite file, waits on conditions with a deadline, and a cleanup that
leaves no process behind.

Every process is started in a session of its own, so that the whole tree (a
supervisor and its children included) can be found and killed by process group even
after its parent is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
E2E_APP = "tests.e2e.tasks_e2e:app"

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that; fail the
    test with ``message`` once ``timeout`` seconds passed. The only way these tests wait."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g}s waiting for: {text}")
        time.sleep(interval)


# -- /proc -----------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1],
    pgrp [2]); None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rindex(")") + 2 :].split()


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped counts as dead)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid``."""
    out = []
    for p in _all_pids():
        fields = _stat(p)
        if fields is not None and fields[0] not in ("Z", "X") and int(fields[1]) == pid:
            out.append(p)
    return sorted(out)


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (orphans included)."""
    out = []
    for p in _all_pids():
        fields = _stat(p)
        if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            out.append(p)
    return sorted(out)


# -- processes ---------------------------------------------------------------------------


class Proc:
    """One started process: its log, its signals, and when it was seen to end."""

    def __init__(self, popen: subprocess.Popen[bytes], log_path: Path, name: str) -> None:
        self.popen = popen
        self.log_path = log_path
        self.name = name
        self.pid = popen.pid
        self.signalled: list[tuple[int, float]] = []  # (signal, time.time()) sent by the test
        self.ended_at: float | None = None  # time.time() when the test first saw it gone

    def __repr__(self) -> str:
        return f"<Proc {self.name} pid={self.pid} rc={self.popen.returncode}>"

    def poll(self) -> int | None:
        code = self.popen.poll()
        if code is not None and self.ended_at is None:
            self.ended_at = time.time()
        return code

    @property
    def alive(self) -> bool:
        return self.poll() is None

    @property
    def killed(self) -> bool:
        """The test sent it SIGKILL."""
        return any(sig == signal.SIGKILL for sig, _ in self.signalled)

    def send(self, sig: int) -> None:
        self.signalled.append((sig, time.time()))
        self.popen.send_signal(sig)

    def signal_group(self, sig: int) -> list[int]:
        """Send ``sig`` to its whole process group: the worker processes themselves,
        whatever their parent (a supervisor and its children alike). Returns the pids
        the group had just before."""
        members = group_members(self.pid) or [self.pid]
        self.signalled.append((sig, time.time()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)
        return members

    def kill9(self) -> None:
        self.send(signal.SIGKILL)
        self.wait_exit(10)

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to end; return its exit code (negative: a signal)."""
        wait_for(
            lambda: not self.alive, timeout, message=lambda: f"{self.name} (pid {self.pid}) to exit\n{self.tail()}"
        )
        code = self.popen.returncode
        assert code is not None
        return code

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def death_time(self) -> float | None:
        """Latest moment it may still have run: the SIGKILL the test sent, else the
        moment the test saw it gone; None while it runs."""
        kills = [t for sig, t in self.signalled if sig == signal.SIGKILL]
        if kills and not self.alive:
            return min(kills)
        self.poll()
        return self.ended_at

    def terminate_tree(self) -> None:
        """SIGKILL the process and everything in its process group; reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)
        self.poll()


class Procs:
    """Starts workers and CLI commands against one store; ``cleanup()`` kills them all.

    ``env`` holds settings for every process (``OFFLOAD_LEASE_S`` …); ``OFFLOAD_URL``
    names the store; the repository root is on ``PYTHONPATH`` so task modules under
    ``tests/`` import in the children.
    """

    def __init__(self, workdir: Path, url: str, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.url = url
        self.env = dict(env or {})
        self.started: list[Proc] = []
        self._n = 0

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OFFLOAD_")}
        # Absolute: the children run in workdir, where PYTHONPATH=src would name nothing.
        path = [str(REPO_ROOT), *(os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
        env.update(
            {
                "OFFLOAD_URL": self.url,
                "PYTHONPATH": os.pathsep.join(path),
                "PYTHONUNBUFFERED": "1",
                "COLUMNS": "250",  # rich tables print whole ids
                "NO_COLOR": "1",
            }
        )
        env.update(self.env)
        env.update(extra or {})
        return env

    def start(self, argv: Sequence[str], *, name: str, env: dict[str, str] | None = None) -> Proc:
        self._n += 1
        log_path = self.workdir / f"{self._n:02d}-{name}.log"
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(
                list(argv),
                cwd=self.workdir,
                env=self.environ(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(popen, log_path, name)
        self.started.append(proc)
        return proc

    def worker(self, *args: str, app: str = E2E_APP, env: dict[str, str] | None = None, name: str = "worker") -> Proc:
        """``python -m offload worker --app APP --no-supervisor ARGS…``: the process
        started is the one that runs the jobs (its pid is the ledger's, a SIGKILL is a
        crash of the worker). With ``--processes`` in ARGS: under the supervisor."""
        bare = () if any(a == "--processes" or a.startswith("--processes=") for a in args) else ("--no-supervisor",)
        return self.start([PYTHON, "-m", "offload", "worker", "--app", app, *bare, *args], name=name, env=env)

    def supervised_worker(
        self, *args: str, app: str = E2E_APP, env: dict[str, str] | None = None, name: str = "supervisor"
    ) -> Proc:
        """``python -m offload worker --app APP ARGS…`` as a user runs it: a supervisor
        and its worker children."""
        return self.start([PYTHON, "-m", "offload", "worker", "--app", app, *args], name=name, env=env)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m offload ARGS…`` to the end; output captured as text."""
        return subprocess.run(
            [PYTHON, "-m", "offload", *args],
            cwd=self.workdir,
            env=self.environ(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def python(
        self, code: str, *, env: dict[str, str] | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -c CODE`` to the end in a fresh process."""
        return subprocess.run(
            [PYTHON, "-c", code],
            cwd=self.workdir,
            env=self.environ(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def python_bg(self, code: str, *, name: str = "python", env: dict[str, str] | None = None) -> Proc:
        """Start ``python -c CODE`` in the background (output in its log)."""
        return self.start([PYTHON, "-c", code], name=name, env=env)

    def deaths(self) -> dict[int, float]:
        """pid -> the latest time it may have run, for every process that ended."""
        out = {}
        for p in self.started:
            t = p.death_time()
            if t is not None:
                out[p.pid] = t
        return out

    def logs(self, procs: Iterable[Proc] | None = None) -> str:
        return "\n".join(f"--- {p.name} pid={p.pid} ---\n{p.log()}" for p in (procs or self.started))

    def cleanup(self) -> None:
        for proc in self.started:
            proc.terminate_tree()


def sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :]


def pause_outside_a_write(send: Callable[[int], object], db_path: Path, timeout: float = 10.0) -> None:
    """SIGSTOP a process (``send`` signals it, or its group) at a moment it holds no
    write lock on the SQLite file ``db_path``. A process stopped inside its
    (sub-millisecond) write transaction keeps the lock while stopped, and every other
    process on the file waits for it: on SQLite that is what a frozen writer does, and
    not what a pause past the lease is about. So: stop it, try the write lock from
    here, and if it is held, let the process go on and stop it again."""

    def paused_without_lock() -> bool:
        send(signal.SIGSTOP)
        probe = sqlite3.connect(db_path, timeout=0.05, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            send(signal.SIGCONT)
            return False
        finally:
            probe.close()

    wait_for(paused_without_lock, timeout, interval=0.01, message="a moment the process holds no write lock")
