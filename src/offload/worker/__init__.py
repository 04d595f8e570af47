"""The worker: claims jobs, runs them, reports how they ended."""

from .runner import Worker

__all__ = ["Worker"]
