"""Shared fixtures: a real store for every backend, nothing mocked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offload.backends import open_backend
from offload.backends.base import Backend

pytest_plugins = ["tests.support.postgres"]

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty, isolated store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def backend(store_url: str) -> Iterator[Backend]:
    b = open_backend(store_url)
    b.migrate()
    yield b
    b.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.db'}"
