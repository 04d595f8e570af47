"""Tunables, with the defaults DESIGN.md names. Environment variables override them,
read by one parser (``from_env``) for every group of settings: the App's here
(``OFFLOAD_<NAME>``) and the web server's (``web.config.WebConfig``, ``OFFLOAD_API_<NAME>``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ConfigurationError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DEFAULT_URL = "sqlite:///offload.db"

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})

Config = TypeVar("Config", bound="DataclassInstance")


@dataclass(frozen=True, slots=True)
class Settings:
    url: str = DEFAULT_URL
    max_payload: int = 1024 * 1024  # bytes of args + kwargs JSON
    max_attempts_limit: int = 100  # the most attempts a job may ask for (retries + 1)
    max_timeout_s: float = 7 * 24 * 3600.0  # the longest timeout a job may ask for
    max_delay_s: float = 366 * 24 * 3600.0  # how far ahead a job may be delayed (_delay, _run_at)
    queues: str = ""  # queues the app declares besides its tasks' ones, comma-separated (see App.queue)
    api_admin_any_queue: bool = False  # over HTTP, admins may also submit to undeclared queues
    lease_s: float = 30.0  # a running job is retaken this long after its worker's last heartbeat
    heartbeat_s: float = 1.0  # also how quickly a running job learns of a cancel request
    progress_flush_s: float = 0.2  # progress/message writes are coalesced to one per interval
    commit_linger_s: float = 0.0005  # a worker waits up to this long for its other runs to finish, to share a commit
    claim_ahead_s: float = 0.001  # short runs: a worker holds extra jobs that wait about this long for a slot; 0: never
    poll_s: float = 1.0  # longest idle wait without a wake-up (delayed jobs, missed rings)
    grace_s: float = 30.0  # SIGTERM: time running jobs get before they go back to queued
    max_backoff_s: float = 3600.0
    keep_completed_s: float = 24 * 3600.0
    keep_completed: int = 10_000
    keep_failed_s: float = 7 * 24 * 3600.0
    keep_events_s: float = 3600.0
    prune_every_s: float = 60.0
    max_messages: int = 1000  # messages kept per job (the newest)
    run_scheduler: bool = True  # every worker also fires due schedules (exactly once overall)
    scheduler_s: float = 1.0
    hostname: str = ""  # the worker's host identity in the store; empty: socket.gethostname()
    # "kid1:BASE64KEY,kid0:OLDKEY" for tasks with encrypt=True: the first encrypts, all
    # decrypt (offload.crypto). Secret: left out of the repr.
    encryption_keys: str = field(default="", repr=False)

    def with_env(self, environ: Mapping[str, str] | None = None) -> Settings:
        """These settings with ``OFFLOAD_<NAME>`` variables applied."""
        return from_env(self, "OFFLOAD_", environ)

    def override(self, **changes: Any) -> Settings:
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigurationError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)


def from_env(config: Config, prefix: str, environ: Mapping[str, str] | None = None) -> Config:
    """``config`` (a dataclass) with each field that has a ``<prefix><NAME>`` variable
    set to its value, parsed as the field's default is typed. A value that doesn't
    parse is a ConfigurationError naming the variable, never a silent default."""
    env = os.environ if environ is None else environ
    changes: dict[str, Any] = {}
    for f in fields(config):
        name = f"{prefix}{f.name.upper()}"
        raw = env.get(name)
        if raw is None:
            continue
        try:
            changes[f.name] = parse(raw, type(getattr(config, f.name)))
        except ValueError:
            raise ConfigurationError(f"{name}={raw!r} is not a valid {f.name}") from None
    return replace(config, **changes)


def parse(raw: str, kind: type) -> Any:
    """One variable's text as ``kind``: a bool is one of TRUE or FALSE (any case),
    anything else is refused with ValueError."""
    if kind is bool:
        word = raw.strip().lower()
        if word in TRUE:
            return True
        if word in FALSE:
            return False
        raise ValueError(raw)
    return kind(raw)
