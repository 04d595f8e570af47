"""Opening SQLite files safely: per-thread connections, never carried across fork(),
write transactions that take the lock up front, driver errors translated."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs

from ...errors import BackendError, BackendUnavailable, ConfigurationError

_SYNC_MODES = {"off", "normal", "full", "extra"}
AUTOCHECKPOINT_PAGES = 10_000  # the safety net; Checkpointer keeps the WAL well below it
CHECKPOINT_EVERY = 32  # commits of this process between two background checkpoints


# Bumped in a child process right after fork(): a connection opened before it belongs to
# the parent. A counter to compare, where asking for the pid was a system call per read.
_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db``; options ``?synchronous=full``
    (an fsync per commit) and ``?busy_timeout=5`` (seconds a write waits for the lock
    before the store counts as unavailable; 30 by default)."""
    if not url.startswith("sqlite:///"):
        raise ConfigurationError(f"SQLite URL must look like sqlite:///path/to/file.db, got {url!r}")
    rest = url[len("sqlite:///") :]
    path, _, query = rest.partition("?")
    if not path or path == ":memory:":
        raise ConfigurationError(f"SQLite URL {url!r} names no file (offload needs a file that outlives the process)")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    sync = options.get("synchronous", "normal").lower()
    if sync not in _SYNC_MODES:
        raise ConfigurationError(f"synchronous={sync!r} in {url!r}: use one of {sorted(_SYNC_MODES)}")
    options["synchronous"] = sync
    try:
        options["busy_timeout"] = str(float(options.get("busy_timeout", "30")))
    except ValueError:
        raise ConfigurationError(f"busy_timeout in {url!r} must be a number of seconds") from None
    return path, options


def translate(exc: sqlite3.Error, path: str) -> BackendError:
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text or "disk I/O" in text):
        return BackendUnavailable(f"SQLite store {path} is busy: {text}")
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in text:
        return BackendUnavailable(f"SQLite store {path} can't be opened: {text}")
    return BackendError(f"SQLite store {path}: {text}")


def create_private(path: str) -> None:
    """Create the database file readable and writable by its owner alone (0600),
    whatever the umask: it holds every job's arguments and results. SQLite gives the
    -wal and -shm files it makes the database file's mode. A file that exists keeps
    the mode it has (its owner may have opened it to a group on purpose)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigurationError(f"can't create SQLite store {path!r}: {exc}") from None
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits from the mode
    finally:
        os.close(fd)


class Connections:
    """One connection per thread and process."""

    def __init__(self, path: str, *, busy_timeout_s: float, synchronous: str) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.synchronous = synchronous
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._check_path()
        create_private(self.path)
        self.checkpointer = Checkpointer(self)

    def _check_path(self) -> None:
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise ConfigurationError(f"can't open SQLite store {self.path!r}: folder {folder!r} does not exist")
        if os.path.isdir(self.path):
            raise ConfigurationError(f"can't open SQLite store {self.path!r}: it is a folder")
        target = self.path if os.path.exists(self.path) else folder
        if not os.access(target, os.R_OK | os.W_OK):
            raise ConfigurationError(f"can't open SQLite store {self.path!r}: {target!r} is not writable")

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.forks == _forks:
            return conn
        conn = self._open()
        self._local.conn = conn
        self._local.forks = _forks
        with self._lock:
            self._all.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            # A checkpoint inside a commit stalls that writer: a writer runs one only when
            # the WAL passed ~40 MiB; the Checkpointer thread does it well before that.
            conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            conn.execute("PRAGMA journal_size_limit=67108864")  # truncate the WAL back to 64 MiB
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"can't open SQLite store {self.path!r}: {exc}") from None
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. BEGIN IMMEDIATE takes the write lock at once (waiting
        up to the busy timeout), so two processes can't deadlock upgrading a read."""
        conn = self.get()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise translate(exc, self.path) from exc
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise translate(exc, self.path) from exc
        self.checkpointer.committed()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    def close(self) -> None:
        self.checkpointer.stop()
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()


class Checkpointer:
    """Copies the WAL back into the database file on a thread of its own, every
    CHECKPOINT_EVERY commits of this process: SQLite's own autocheckpoint runs inside
    the commit that crosses the limit and stalls that writer (a worker's loop, an
    enqueue). PASSIVE: it never waits for readers or writers, and it releases the GIL
    while it copies, so it runs beside the writer on another core."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._wake = threading.Event()
        self._commits = 0
        self._thread: threading.Thread | None = None
        self._pid = -1

    def committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY:
            return
        if self._thread is None or self._pid != os.getpid():  # first use, or a forked child
            self._pid = os.getpid()
            self._wake = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._wake,), name="offload-sqlite-checkpoint", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """End the thread (a later commit starts a new one)."""
        thread, self._thread = self._thread, None
        if thread is not None and self._pid == os.getpid():
            self._wake.set()
            thread.join(timeout=5)

    def _run(self, wake: threading.Event) -> None:
        while True:
            wake.wait()
            wake.clear()
            if self._thread is not threading.current_thread():
                return
            with contextlib.suppress(sqlite3.Error, ConfigurationError):
                self._connections.get().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
