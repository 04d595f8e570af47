"""Doorbells: how an enqueuer wakes idle workers on the same machine without polling.

SQLite has no LISTEN/NOTIFY. Each waiting worker binds a Unix datagram socket in a
folder beside the database file (``jobs.db-bells/<worker>.sock``; offload creates the
folder 0700, so only the database's owner rings); after a commit that made work ready,
the writer sends one byte to every socket there. A ring that is lost (full buffer,
worker just starting) costs the worker one poll interval, never a job.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import tempfile
import threading
from typing import Any

_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 108 bytes


def _folder_for(db_path: str) -> str:
    """``<db>-bells`` beside the file, or a folder in the temp dir named after the
    file's real path when that would make socket paths too long."""
    folder = os.path.abspath(db_path) + "-bells"
    if len(folder) + 40 <= _MAX_SOCKET_PATH:
        return folder
    digest = hashlib.sha256(os.path.realpath(db_path).encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"offload-bells-{digest}")


class BellBoard:
    """The folder of bells for one database file."""

    def __init__(self, db_path: str) -> None:
        self.folder = _folder_for(db_path)
        self._names: list[str] = []
        self._mtime_ns = -1
        self._sock: socket.socket | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def _targets(self) -> list[str]:
        try:
            mtime = os.stat(self.folder).st_mtime_ns
        except FileNotFoundError:
            return []
        if mtime != self._mtime_ns:  # re-list only when a bell was added or removed
            self._names = [n for n in os.listdir(self.folder) if n.endswith(".sock")]
            self._mtime_ns = mtime
        return self._names

    def _sender(self) -> socket.socket:
        if self._sock is None or self._pid != os.getpid():
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
            self._pid = os.getpid()
        return self._sock

    def ring_all(self) -> None:
        with self._lock:
            names = self._targets()
            if not names:
                return
            sock = self._sender()
            for name in names:
                path = os.path.join(self.folder, name)
                try:
                    sock.sendto(b"!", path)
                except BlockingIOError:
                    pass  # its buffer is full of rings already: it is awake
                except (ConnectionRefusedError, FileNotFoundError):
                    with contextlib.suppress(OSError):
                        os.unlink(path)  # a worker that died without cleaning up
                except OSError:
                    pass

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def bell(self, name: str) -> Bell:
        try:
            os.mkdir(self.folder, 0o700)  # only the store's owner may ring (or unlink) a bell
            os.chmod(self.folder, 0o700)  # whatever the umask
        except FileExistsError:
            pass
        return Bell(os.path.join(self.folder, f"{name}.sock"))


class Bell:
    """One worker's bell; also ringable from its own process through a pipe."""

    def __init__(self, path: str) -> None:
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(path)
        self._sock.setblocking(False)
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)

    def wait(self, timeout: float) -> bool:
        watched: list[Any] = [self._sock, self._r]
        ready, _, _ = select.select(watched, [], [], max(0.0, timeout))
        if not ready:
            return False
        self._drain()
        return True

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._sock.recv(64):
                pass
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._r, 64):
                pass

    def ring(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"!")

    def close(self) -> None:
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self._r, self._w):
            with contextlib.suppress(OSError):
                os.close(fd)
