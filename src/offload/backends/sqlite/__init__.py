"""The embedded default store: one SQLite file in WAL mode."""

from .backend import SQLiteBackend

__all__ = ["SQLiteBackend"]
