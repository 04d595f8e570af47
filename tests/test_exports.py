"""The public names are a contract: adding or removing one is a decision, not an accident."""

from __future__ import annotations

import offload
from offload import errors


def test_top_level_names() -> None:
    assert sorted(offload.__all__) == [
        "App",
        "JobCancelled",
        "JobContext",
        "JobHandle",
        "JobRecord",
        "JobStatus",
        "OffloadError",
        "Retry",
        "Settings",
        "Task",
        "Worker",
        "errors",
    ]
    for name in offload.__all__:
        assert hasattr(offload, name), name


def test_every_error_is_an_offload_error() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.OffloadError), name
        assert name in (errors.__doc__ or ""), f"{name} is missing from the tree in errors.py"
