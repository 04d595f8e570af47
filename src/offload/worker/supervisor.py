"""``offload worker --processes N``: N worker children, restarted when they die.

Children are started fresh (not forked), so no store connection crosses a fork. A
child that exits with EXIT_RECYCLE is replaced at once; one that crashed is replaced
after a backoff. SIGTERM/SIGINT are passed on to the children; the supervisor exits
when they have. A child whose supervisor vanished (SIGKILL) stops by itself.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from types import FrameType

from .runner import EXIT_RECYCLE

log = logging.getLogger(__name__)

HEALTHY_S = 60.0  # a child that ran this long before dying is restarted without delay growth


class Supervisor:
    def __init__(self, argv: list[str], processes: int) -> None:
        self.argv = argv
        self.processes = processes
        self.children: dict[int, subprocess.Popen[bytes]] = {}
        self.failures: dict[int, int] = {}
        self.restart_at: dict[int, float] = {}
        self.started: dict[int, float] = {}
        self.signals = 0

    def _spawn(self, slot: int) -> None:
        env = dict(os.environ, OFFLOAD_SUPERVISED="1")
        self.children[slot] = subprocess.Popen(self.argv, env=env)
        self.started[slot] = time.monotonic()
        log.info("supervisor: started worker %d (pid %d)", slot, self.children[slot].pid)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        self.restart_at.clear()  # stopping: nothing is restarted any more
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for slot in range(self.processes):
            self._spawn(slot)
        while True:
            alive = False
            for slot, child in list(self.children.items()):
                code = child.poll()
                if code is None:
                    alive = True
                    continue
                if self.signals or code == 0:  # stopped on request, or a --burst child that is done
                    del self.children[slot]
                    self.restart_at.pop(slot, None)
                    continue
                alive = True
                self._replace(slot, code)
            if not alive and not self.restart_at:
                return 0
            time.sleep(0.2)

    def _replace(self, slot: int, code: int) -> None:
        now = time.monotonic()
        if slot not in self.restart_at:
            if now - self.started.get(slot, now) > HEALTHY_S:
                self.failures[slot] = 0  # it ran well for a while: start the backoff over
            if code == EXIT_RECYCLE:
                self.failures[slot] = 0
                wait = 0.0
            else:
                self.failures[slot] = self.failures.get(slot, 0) + 1
                wait = min(30.0, 0.5 * 2 ** (self.failures[slot] - 1))
                log.warning("supervisor: worker %d exited with %d; restarting in %.1fs", slot, code, wait)
            self.restart_at[slot] = now + wait
        if now >= self.restart_at.get(slot, float("inf")) and not self.signals:
            self.restart_at.pop(slot, None)
            self._spawn(slot)
