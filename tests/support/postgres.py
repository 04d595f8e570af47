"""A throwaway PostgreSQL cluster for tests, and the pytest fixtures that use it.

``PostgresCluster`` runs ``initdb`` into a temporary folder and starts ``postgres`` on
127.0.0.1 with a free port (durability off: fsync, synchronous_commit). As root it runs
both as the ``postgres`` OS user, because they refuse to run as root. Binaries are taken
from ``/usr/lib/postgresql/<version>/bin`` (newest first) or from ``$PATH``.

With ``OFFLOAD_TEST_PG_URL`` set, that server is used instead and nothing is started;
``stop``/``start``/``restart`` then fail, because the tests can't control that server.

Fixtures (load with ``pytest_plugins = ["tests.support.postgres"]``):

* ``postgres_server`` (session): the running cluster.
* ``postgres_url`` (function): the URL of an empty database of its own. It is a plain
  libpq URL, so the test may also connect to it with psycopg. Databases are recycled:
  after the test its sessions are ended and every schema it made is dropped (far cheaper
  than CREATE DATABASE on a busy cluster); one that can't be cleaned is dropped. A server
  that can't be started fails the test; it never skips.
* ``postgres_backend`` (function): a migrated PostgresBackend on that URL.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from offload.records import NewJob, new_job_id

ENV_URL = "OFFLOAD_TEST_PG_URL"
_OS_USER = "postgres"


def find_bin_dir() -> Path:
    """The folder holding initdb and postgres, newest installed version first."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name.split(".")[0]), reverse=True
    )
    for folder in candidates:
        if os.access(os.path.join(folder, "initdb"), os.X_OK):
            return Path(folder)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and $PATH)")


def _die_with_parent() -> None:
    """In the server's process before exec: if the test process dies (killed by a
    timeout, say), the server gets SIGQUIT (immediate shutdown) instead of living on."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGQUIT)  # PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresCluster:
    """One cluster in a temporary folder, owned by this process."""

    def __init__(self, *, external_url: str | None = None) -> None:
        self.external_url = external_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.root: Path | None = None
        self._as_user: dict[str, Any] = {}
        self._spare: list[str] = []  # clean databases, ready for the next test

    # -- life cycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.external_url:
            return self.external_url
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Create the cluster on first use, then start the server and wait until it answers."""
        self._require_own()
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.root is None:
            self._init()
        assert self.root is not None
        self.port = self.port or _free_port()
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the server writes it until stop()
        try:
            self.proc = subprocess.Popen(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.root / "data"),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=300",
                    "-c",
                    "log_min_messages=warning",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                **self._as_user,
            )
        finally:
            log.close()
        self._wait_ready()

    def stop(self) -> None:
        """Fast shutdown: open sessions are ended, the server is gone when this returns."""
        self._require_own()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port and data folder."""
        self.stop()
        self.start()

    def destroy(self) -> None:
        if self.external_url:  # leave nothing behind on a server that isn't ours
            for name in self._spare:
                with contextlib.suppress(psycopg.Error), self.connect() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._spare.clear()
            return
        self.stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- helpers --------------------------------------------------------------------

    def _require_own(self) -> None:
        if self.external_url:
            raise RuntimeError(f"the server at ${ENV_URL} is not started or stopped by the tests")

    def _init(self) -> None:
        self.bin = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="offload-pg-"))
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            user = pwd.getpwnam(_OS_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.root / "data"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            cwd=self.root,
            **self._as_user,
        )

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}; see {self.root}/server.log")
            try:
                with psycopg.connect(self.url, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- isolation ------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def database_url(self, name: str) -> str:
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))

    def acquire_database(self) -> tuple[str, str]:
        """An empty database of the caller's own, and its URL."""
        if self._spare:
            name = self._spare.pop()
        else:
            name = f"offload_test_{secrets.token_hex(6)}"
            with self.connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name, self.database_url(name)

    def release_database(self, name: str) -> None:
        """End the database's sessions and drop what the test made in it; keep it for the
        next test, or drop it when that fails."""
        try:
            with self.connect() as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
            with psycopg.connect(self.database_url(name), autocommit=True, connect_timeout=5) as conn:
                conn.execute("SET lock_timeout = '5s'")
                schemas = conn.execute(
                    "SELECT nspname FROM pg_namespace"
                    " WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
                ).fetchall()
                for (schema,) in schemas:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                conn.execute("CREATE SCHEMA public")
        except psycopg.Error:
            with contextlib.suppress(psycopg.Error), self.connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        self._spare.append(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL server, started on first use."""
    external = os.environ.get(ENV_URL) or None
    cluster = PostgresCluster(external_url=external)
    if external is None:
        cluster.start()
    else:
        with cluster.connect() as conn:  # fail now, and clearly, if it doesn't answer
            conn.execute("SELECT 1")
    yield cluster
    cluster.destroy()


@pytest.fixture
def postgres_url(postgres_server: PostgresCluster) -> Iterator[str]:
    """A URL of an empty store of its own: a fresh database, dropped afterwards."""
    if postgres_server.external_url is None:
        postgres_server.start()  # a test that stopped the server and failed must not sink the rest
    name, url = postgres_server.acquire_database()
    yield url
    if postgres_server.external_url is None:
        postgres_server.start()
    postgres_server.release_database(name)


@pytest.fixture
def postgres_backend(postgres_url: str) -> Iterator[Any]:
    """A migrated PostgresBackend of its own; calls give up after 2 s without a connection."""
    from offload.backends.postgres import PostgresBackend

    backend = PostgresBackend(postgres_url, pool_timeout=2.0)
    backend.migrate()
    yield backend
    backend.close()


def new_job(queue: str = "default", **fields: Any) -> NewJob:
    """A NewJob with defaults, for tests."""
    values: dict[str, Any] = {"task": "t", "args_json": "[]", "kwargs_json": "{}"}
    values.update(fields)
    return NewJob(id=values.pop("id", new_job_id()), queue=queue, **values)
