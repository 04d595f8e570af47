"""One adapter module per system under test, all with the same small interface.

This file is imported by the runner too, so it uses the standard library only.
"""

from __future__ import annotations

# system name -> (adapter module in bench/peers, store it needs, variant, venv)
SYSTEMS: dict[str, tuple[str, str, str, str]] = {
    "offload-sqlite": ("offload_bench", "sqlite", "sqlite", "offload"),
    "offload-postgres": ("offload_bench", "postgres", "postgres", "offload"),
    "rq": ("rq", "redis", "", "peers"),
    "celery": ("celery", "redis", "", "peers"),
    "huey-redis": ("huey", "redis", "redis", "peers"),
    "huey-sqlite": ("huey", "sqlite", "sqlite", "peers"),
    "huey-postgres": ("huey", "postgres", "postgres", "peers"),
    "dramatiq": ("dramatiq", "redis", "", "peers"),
    "arq": ("arq", "redis", "", "peers-arq"),
    "saq": ("saq", "redis", "", "peers"),
    "procrastinate": ("procrastinate", "postgres", "", "peers"),
}

KINDS = ("noop", "progress", "sleep")  # the three task bodies every system defines


class NotSupported(Exception):
    """The system has no API for this workload; the message says why."""


# The message of the n/a the report shows once for all peers (see report.cell).
OFFLOAD_ONLY = "offload-only workload"


class BasePeer:
    """Defaults shared by the adapters. Subclasses set the class attributes."""

    label = ""             # shown in the results table, e.g. "Huey (Redis)"
    packages: list[str] = []  # distributions whose versions go into the results
    slots = {"cpu": 1, "io": 50}  # concurrency per worker mode, see worker_cmd
    bulk_note: str | None = None      # set: no bulk enqueue, and why
    progress_note: str | None = None  # set: no progress API, and why

    def __init__(self, variant: str = "") -> None:
        self.variant = variant

    def setup(self) -> None:
        """Called once the (empty) store is ready, before any enqueue."""

    def close(self) -> None:
        """Release connections."""

    def describe(self, mode: str) -> str:
        """Human-readable worker configuration for this mode."""
        return " ".join(self.worker_cmd(mode))

    def worker_cmd(self, mode: str) -> list[str]:
        """argv of the system's standard worker; mode is "cpu" or "io".

        The worker runs with cwd=bench/ and BENCH_SLOTS=self.slots[mode] in its
        environment (for systems configured through a settings object).
        """
        raise NotImplementedError

    def enqueue(self, kind: str) -> None:
        """Submit one job of this kind, one call."""
        raise NotImplementedError

    def enqueue_n(self, kind: str, n: int) -> None:
        """Submit n jobs one call at a time (async systems override this)."""
        for _ in range(n):
            self.enqueue(kind)

    def enqueue_bulk(self, kind: str, n: int) -> None:
        """Submit n jobs in one call of the system's bulk API."""
        raise NotSupported(self.bulk_note or "no bulk enqueue")

    # -- offload-only workloads (api, scale); the other systems answer n/a ---------------

    def api_server_cmd(self, port: int) -> list[str]:
        """argv of the HTTP API server on 127.0.0.1:port (auth on, no rate limit)."""
        raise NotSupported(f"{OFFLOAD_ONLY}: its HTTP API")

    def api_token(self) -> str:
        """An admin token for that server."""
        raise NotSupported(f"{OFFLOAD_ONLY}: its HTTP API")

    def fill_ids(self, kind: str, n: int, chunk: int = 1000) -> list[str]:
        """Like fill, and return the new jobs' ids."""
        raise NotSupported(OFFLOAD_ONLY)

    def scale_store(self) -> object:
        """The store-level operations of the scale workload (see peers/offload_bench.py)."""
        raise NotSupported(f"{OFFLOAD_ONLY}: its store at scale")

    def fill(self, kind: str, n: int, chunk: int = 1000) -> None:
        """Queue n jobs as fast as the system allows (untimed set-up)."""
        if self.bulk_note is None:
            for i in range(0, n, chunk):
                self.enqueue_bulk(kind, min(chunk, n - i))
        else:
            self.enqueue_n(kind, n)
