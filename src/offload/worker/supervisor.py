"""``offload worker``: N worker children under a supervisor that replaces them (N is
``--processes``, 1 by default).

The supervisor is the process you started. It never loads your app nor opens the
store, so it forks its children from a clean process (no store connection, thread or
lock crosses the fork) and they start at once. Each child tells it, over a pipe of its
own, when it works (``W``) and when it retires (``R``: a timed-out task of its won't
stop, so it finishes its other jobs and exits; a fresh child takes its slot at once).
A child that crashed is replaced after a backoff; a child that fails before any child
ever worked (a bad ``--app``, a store that can't be opened) ends the supervisor with
its exit code instead of being restarted forever. SIGTERM/SIGINT are passed on; the
supervisor exits when its children have. A child whose supervisor vanished (SIGKILL)
stops by itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from types import FrameType

from .runner import EXIT_RECYCLE

log = logging.getLogger(__name__)

HEALTHY_S = 60.0  # a child that ran this long before dying is restarted without delay growth
# What the supervisor passes on: the first SIGTERM/SIGINT as SIGTERM (stop gracefully),
# any later one as HURRY (stop now). A child takes every SIGTERM as the first, because
# a service manager may signal the whole group (systemd does), and ignores SIGINT,
# which Ctrl-C sends to the whole group: only the supervisor counts signals.
HURRY = signal.SIGUSR1
SIGNALS = {signal.SIGTERM, signal.SIGINT}


class ChildLink:
    """A child's end of its pipe to the supervisor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def working(self) -> None:
        self._say(b"W")

    def retiring(self) -> None:
        self._say(b"R")

    def _say(self, what: bytes) -> None:
        with contextlib.suppress(OSError):  # the supervisor is gone: the child notices by itself
            os.write(self.fd, what)


class Child:
    """A forked child, seen from the supervisor."""

    def __init__(self, pid: int, fd: int, slot: int) -> None:
        self.pid, self.fd, self.slot = pid, fd, slot
        self.started = time.monotonic()
        self.working = False
        self.retiring = False
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                os.close(self.fd)
        return self.returncode

    def send(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)


class Supervisor:
    """Runs ``start_child(link)`` in each of ``processes`` forked children; its return
    value is the child's exit code."""

    def __init__(self, start_child: Callable[[ChildLink], int], processes: int) -> None:
        self.start_child = start_child
        self.processes = processes
        self.children: dict[int, Child] = {}  # slot -> the child serving it
        self.retired: list[Child] = []  # children finishing their jobs, already replaced
        self.failures: dict[int, int] = {}
        self.restart_at: dict[int, float] = {}
        self.signals = 0
        self.ever_worked = False
        self.exit_code = 0

    def _spawn(self, slot: int) -> None:
        read_fd, write_fd = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        # No signal may reach the supervisor's handlers in the child before it has its own.
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read_fd)
            for other in [*self.children.values(), *self.retired]:
                if other.returncode is None:
                    os.close(other.fd)
            os._exit(_child_main(self.start_child, ChildLink(write_fd)))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.children[slot] = Child(pid, read_fd, slot)
        log.info("supervisor: started worker %d (pid %d)", slot, pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        self.restart_at.clear()  # stopping: nothing is restarted any more
        for child in [*self.children.values(), *self.retired]:
            if child.returncode is None:
                child.send(signal.SIGTERM if self.signals == 1 else HURRY)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for slot in range(self.processes):
            self._spawn(slot)
        while self.children or self.retired or self.restart_at:
            self._listen(0.2)
            self._reap()
            for slot, at in list(self.restart_at.items()):
                if time.monotonic() >= at and not self.signals:
                    del self.restart_at[slot]
                    self._spawn(slot)
        return self.exit_code

    def _listen(self, timeout: float) -> None:
        """Read what the children said (W: working; R: retiring, so start its successor)."""
        live = {c.fd: c for c in [*self.children.values(), *self.retired] if c.returncode is None}
        if not live:
            time.sleep(timeout)
            return
        ready, _, _ = select.select(list(live), [], [], timeout)
        for fd in ready:
            child = live[fd]
            with contextlib.suppress(BlockingIOError):
                said = os.read(fd, 64)
                child.working = child.working or b"W" in said
                self.ever_worked = self.ever_worked or child.working
                if b"R" in said and not child.retiring:
                    self._retire(child)

    def _retire(self, child: Child) -> None:
        log.warning("supervisor: worker %d (pid %d) retires; starting a fresh one", child.slot, child.pid)
        child.retiring = True
        self.retired.append(child)
        if self.children.get(child.slot) is child:
            del self.children[child.slot]
            if not self.signals:
                self.failures[child.slot] = 0
                self._spawn(child.slot)

    def _reap(self) -> None:
        for child in list(self.retired):
            if child.poll() is not None:
                self.retired.remove(child)
        for slot, child in list(self.children.items()):
            code = child.poll()
            if code is None:
                continue
            del self.children[slot]
            if self.signals or code == 0:  # stopped on request, or a --burst child that is done
                continue
            if not child.working and not self.ever_worked:
                log.error("supervisor: worker %d failed before it started (exit code %d); stopping", slot, code)
                self.exit_code = code if code > 0 else 1
                self._on_signal(signal.SIGTERM, None)
                continue
            self._schedule_restart(child, code)

    def _schedule_restart(self, child: Child, code: int) -> None:
        now = time.monotonic()
        slot = child.slot
        if now - child.started > HEALTHY_S or code == EXIT_RECYCLE:
            self.failures[slot] = 0  # it ran well for a while: start the backoff over
        if code == EXIT_RECYCLE:
            wait = 0.0
        else:
            self.failures[slot] = self.failures.get(slot, 0) + 1
            wait = min(30.0, 0.5 * 2 ** (self.failures[slot] - 1))
            log.warning("supervisor: worker %d exited with %d; restarting in %.1fs", slot, code, wait)
        self.restart_at[slot] = now + wait


def _child_main(start_child: Callable[[ChildLink], int], link: ChildLink) -> int:
    """Run in a forked child: the supervisor's signal handlers are not its own (see
    HURRY for the ones ``start_child`` should install)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    code = 1
    try:
        code = start_child(link)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - a child reports its crash and exits
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code
