"""Store engines, picked by URL scheme."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from .base import Backend

__all__ = ["Backend", "open_backend"]


def open_backend(url: str, **options: Any) -> Backend:
    """Open the store a URL names: ``sqlite:///path``, ``postgresql://…``."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from .sqlite import SQLiteBackend

        return SQLiteBackend(url, **options)
    if scheme in ("postgres", "postgresql"):
        from .postgres import PostgresBackend

        return PostgresBackend(url, **options)
    raise ConfigurationError(f"unsupported store URL {url!r}: use sqlite:///path/to/file.db or postgresql://…")
