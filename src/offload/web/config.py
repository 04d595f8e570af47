"""WebConfig: how ``offload serve`` behaves. ``OFFLOAD_API_<NAME>`` overrides a field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..settings import from_env


@dataclass(frozen=True, slots=True)
class WebConfig:
    auth: bool = True  # False: the --no-auth dev mode, every caller is an admin
    max_body: int = 0  # bytes; 0: the App's max_payload plus 64 KiB for the rest of the body
    max_drain: int = 16 * 1024 * 1024  # bytes of a refused body read and dropped so the client sees the 413
    poll_rate: float = 20.0  # requests per second per token (a token bucket); 0: no limit
    poll_burst: float = 40.0  # requests a token may make at once before the rate applies
    max_streams: int = 32  # open SSE / WebSocket streams per token
    keepalive_s: float = 15.0  # SSE comment / idle interval of the streams
    hub_interval_s: float = 0.1  # how often the event hub reads new events from the store
    workers: int = 0  # slots of an in-process worker; 0: none
    session_s: float = 12 * 3600.0  # a dashboard session's length, renewed while in use
    health_timeout_s: float = 1.0  # /api/health answers within this, whatever the store does
    # Connections (offload serve only; see web/connections.py):
    header_timeout_s: float = 10.0  # to send a complete request head; 0: no deadline
    idle_timeout_s: float = 5.0  # a keep-alive connection idle between requests
    max_connections: int = 1000  # open at once, streams included; 0: no cap

    def with_env(self, environ: Mapping[str, str] | None = None) -> WebConfig:
        """This configuration with ``OFFLOAD_API_<NAME>`` variables applied (settings.from_env)."""
        return from_env(self, "OFFLOAD_API_", environ)

    def override(self, **changes: Any) -> WebConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
