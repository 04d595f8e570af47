"""Fixtures of the end-to-end tests: a SQLite file in tmp_path, the processes that
use it (all killed at teardown), an App in the test process to enqueue and read, and
the ledger the tasks write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import offload
from tests.e2e import tasks_e2e
from tests.support.ledger import ENV as LEDGER_ENV
from tests.support.procs import Procs


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.jsonl"


@pytest.fixture
def procs(tmp_path: Path, url: str, ledger_path: Path) -> Iterator[Procs]:
    """Every process a test starts; killed (with their process groups) at teardown.
    Idle workers poll every 0.2 s so delayed and retried jobs start promptly."""
    p = Procs(tmp_path, url, env={"OFFLOAD_POLL_S": "0.2", LEDGER_ENV: str(ledger_path)})
    try:
        yield p
    finally:
        p.cleanup()


@pytest.fixture
def app(url: str) -> Iterator[offload.App]:
    """The e2e tasks on the test's store, in the test process."""
    a = tasks_e2e.make_app(url)
    try:
        yield a
    finally:
        a.close()
