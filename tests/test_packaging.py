"""The project as a user gets it: a wheel built from the sources, installed into a fresh
virtualenv, serving its API and its browser script from that install alone.

Builds from a copy of the sources (the build writes build/ and *.egg-info next to what
it builds); installs with pip's cache; needs the package index, nothing else. The
child processes get no PYTHONPATH, so the only offload they can import is the wheel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port
from tests.support.procs import REPO_ROOT, Procs, wait_for

pytestmark = pytest.mark.packaging

SOURCES = ("pyproject.toml", "README.md", "src")
PIP = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input")


def _run(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, f"{' '.join(argv)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("OFFLOAD_")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """offload's wheel, built from a copy of the sources."""
    root = tmp_path_factory.mktemp("sources")
    for name in SOURCES:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, root / name)
    dist = root / "dist"
    _run([*PIP, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(root)], cwd=root, env=_clean_env())
    (built,) = dist.glob("offload-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its web extra installed (by this
    interpreter's pip, so the venv needs none of its own)."""
    path = tmp_path_factory.mktemp("venv") / "v"
    _run([sys.executable, "-m", "venv", "--without-pip", str(path)], cwd=path.parent)
    python = path / "bin" / "python"
    _run([*PIP, "--python", str(python), "install", "--quiet", f"{wheel}[web]"], cwd=path.parent, env=_clean_env())
    return path


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        yield p
    finally:
        p.cleanup()


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    package = REPO_ROOT / "src" / "offload"
    wanted = {
        f"offload/{p.relative_to(package).as_posix()}"
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    with zipfile.ZipFile(wheel) as zf:
        shipped = set(zf.namelist())
    for name in ("offload.js", "offload.mjs", "offload.d.ts", "offload.d.mts"):
        assert f"offload/service/static/{name}" in wanted
    assert sorted(wanted - shipped) == []


def test_an_installed_wheel_serves_the_api_and_its_script(venv: Path, procs: Procs, tmp_path: Path) -> None:
    env = {**_clean_env(), "OFFLOAD_URL": procs.url, "NO_COLOR": "1"}
    where = _run([str(venv / "bin" / "python"), "-c", "import offload; print(offload.__file__)"], cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(venv), where  # the wheel's offload, not the sources'

    # What the Flask and FastAPI routes for /static/offload.js serve.
    code = "import offload.integrations as i; print(i.static_js(), end='')"
    js = _run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=env)
    assert "offload" in js and "function" in js

    port = free_port()
    argv = [str(venv / "bin" / "offload"), "serve", "--app", "offload.demo:app", "--port", str(port), "--workers", "1"]
    proc = procs.start(argv, name="serve", env={"PYTHONPATH": ""})
    base = f"http://127.0.0.1:{port}"

    def health() -> httpx.Response | None:
        assert proc.alive, f"offload serve exited:\n{proc.tail()}"
        try:
            return httpx.get(f"{base}/api/health", timeout=2.0)
        except httpx.TransportError:
            return None

    answer = wait_for(health, timeout=30, interval=0.1, message=lambda: f"offload serve answering\n{proc.tail()}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ok"

    script = httpx.get(f"{base}/static/offload.js", timeout=5.0)
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.text == js
    module = httpx.get(f"{base}/static/offload.mjs", timeout=5.0)
    assert module.status_code == 200 and module.headers["content-type"].startswith("text/javascript")
    assert 'import "./offload.js"' in module.text
