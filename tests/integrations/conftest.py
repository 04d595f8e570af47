"""The examples as real servers (werkzeug, uvicorn) with a separate worker process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port
from tests.support.procs import PYTHON, REPO_ROOT, Procs, wait_for


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}", env={"EXAMPLE_SPEED": "0.1"})
    yield p
    p.cleanup()


@pytest.fixture
def example(procs: Procs) -> Callable[..., str]:
    """``example("mail_flask", queue="mail")``: the example's web server (no in-process
    workers) and an ``offload worker`` process; returns the base URL."""

    def start(name: str, *, queue: str) -> str:
        procs.cli("migrate", "--app", f"examples.{name}:jobs")
        procs.worker("--queues", queue, "--concurrency", "4", app=f"examples.{name}:jobs")
        port = free_port()
        server = procs.start(
            [PYTHON, str(REPO_ROOT / "examples" / f"{name}.py"), "--port", str(port), "--workers", "0"], name=name
        )
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if not server.alive:
                raise AssertionError(server.tail())
            try:
                httpx.get(base + "/", timeout=1)
                return True
            except httpx.TransportError:
                return False

        wait_for(up, timeout=20, interval=0.05, message=lambda: f"{name} up\n{server.tail()}")
        return base

    return start
