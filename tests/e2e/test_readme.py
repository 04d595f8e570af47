"""The README's examples, run as written: its Python blocks as modules of the package
they name, ``offload serve`` with the command line its prose gives, its console block by
a shell (with the real token and job id), each shown value checked against the real
answer; and scripts/serve, whose banner must name the port it serves on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port
from tests.support.procs import PYTHON, REPO_ROOT, Proc, Procs, wait_for

README = (REPO_ROOT / "README.md").read_text()
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
SERVE = re.compile(r"`offload (serve --app [^`]+)`")
# "key":value pairs a reader can check: strings, numbers, literals, flat objects; a
# value elided with … is not one.
PAIR = re.compile(r'"(\w+)":("(?:[^"\\…]|\\.)*"|-?\d+(?:\.\d+)?|null|true|false|\{[^{}…]*\})')
# Values that differ from run to run.
VARYING = {"id", "job_id", "seq", "at", "timestamp", "created_at", "run_at", "started_at", "completed_at", "duration"}


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCK.findall(README) if kind == lang]


def _console_steps(block: str) -> list[tuple[str, str]]:
    """(command, the output the README shows for it), for each ``$`` line with its
    continuation lines."""
    steps: list[tuple[str, list[str]]] = []
    continued = False
    for line in block.splitlines():
        if line.startswith("$ ") and not continued:
            steps.append((line[2:], []))
        elif continued:
            steps[-1] = (steps[-1][0] + "\n" + line, steps[-1][1])
        else:
            steps[-1][1].append(line)
        continued = line.endswith("\\") and not steps[-1][1]
    return [(cmd, "\n".join(out)) for cmd, out in steps]


def _pairs(text: str) -> set[tuple[str, str]]:
    pairs = set()
    for key, raw in PAIR.findall(text):
        value = json.loads(raw)
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in VARYING}
        if key not in VARYING:
            pairs.add((key, json.dumps(value, sort_keys=True)))
    return pairs


def _job_id(output: str) -> str | None:
    found = re.search(r'"job_id":"([0-9a-f]{32})"', output)
    return found.group(1) if found else None


def _shell(procs: Procs, bin_dir: Path) -> dict[str, str]:
    """The environment of a newcomer's shell: ``offload`` on PATH (this tree's), and
    no OFFLOAD_URL (the README's App names its store)."""
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "offload"
    shim.write_text(f'#!/bin/sh\nexec {PYTHON} -m offload "$@"\n')
    shim.chmod(0o755)
    env = procs.environ()
    del env["OFFLOAD_URL"]
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return env


def _serve(procs: Procs, argv: list[str]) -> tuple[Proc, str]:
    port = free_port()
    proc = procs.start([PYTHON, "-m", "offload", *argv, "--port", str(port)], name="serve")

    def healthy() -> bool:
        assert proc.alive, f"offload serve exited:\n{proc.tail()}"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1.0).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, timeout=30, interval=0.05, message=lambda: f"offload serve answering\n{proc.tail()}")
    return proc, f"localhost:{port}"


def test_the_readme_starts_with_the_two_commands_a_newcomer_needs() -> None:
    first = _blocks("bash")[0]
    assert [line.split()[0] for line in first.splitlines()] == ["scripts/serve", "scripts/test"]
    assert README.index(first) < README.index("\n## ")


def test_the_readme_examples_run_as_written(procs: Procs, tmp_path: Path) -> None:
    modules = []
    for code in _blocks("python"):
        head = code.splitlines()[0]
        assert re.fullmatch(r"# [\w/]+\.py", head), f"a Python block starts with the file it is: {head!r}"
        path = tmp_path / head[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(code)
        modules.append(head[2:-3].replace("/", "."))
    assert modules == ["myapp.tasks", "myapp.submit"]

    serve = SERVE.search(README)
    assert serve is not None
    proc, address = _serve(procs, serve.group(1).split())

    env = _shell(procs, tmp_path / "bin")
    for module in modules:
        out = subprocess.run([PYTHON, "-m", module], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
        assert out.returncode == 0, f"python -m {module}:\n{out.stdout}\n{out.stderr}"

    (console,) = _blocks("console")
    state = tmp_path / "shell-state"
    ids: dict[str, str] = {}
    for command, shown in _console_steps(console):
        command = command.replace("localhost:8000", address)
        for readme_id, real_id in ids.items():
            command = command.replace(readme_id, real_id)
        names = re.findall(r"^(\w+)=", command)
        script = "set -euo pipefail\n" + f"[ -f {state} ] && . {state}\n" + command + "\n"
        script += "".join(f"declare -p {name} >> {state}\n" for name in names)
        out = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"$ {command}\n{out.stdout}\n{out.stderr}\n{proc.tail()}"
        real = out.stdout
        if (readme_id := _job_id(shown)) and (real_id := _job_id(real)):
            ids[readme_id] = real_id
        missing = _pairs(shown) - _pairs(real)
        assert not missing, f"$ {command}\nshown in the README but not answered: {sorted(missing)}\n{real}"
        for line in shown.splitlines():
            if line.startswith(("event: ", "retry: ")):
                assert line in real.splitlines(), f"$ {command}\n{line!r} not answered:\n{real}"
    assert ids, "the console block submits a job"


@pytest.mark.parametrize("form", ["--port N", "--port=N"])
def test_scripts_serve_names_the_port_it_serves_on(procs: Procs, tmp_path: Path, form: str) -> None:
    """scripts/serve in a copy of the tree whose setup is done (a no-op) and whose
    .venv/bin/offload is this tree's; the curl lines of its banner run as printed."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "scripts" / "serve", tree / "scripts" / "serve")
    (tree / "scripts" / "setup").write_text("#!/bin/sh\n")
    (tree / "scripts" / "setup").chmod(0o755)
    env = _shell(procs, tree / ".venv" / "bin")
    port = free_port()
    argv = ["--port", str(port)] if form == "--port N" else [f"--port={port}"]
    proc = procs.start([str(tree / "scripts" / "serve"), *argv], name="scripts-serve")

    def banner_and_health() -> list[str] | None:
        assert proc.alive, f"scripts/serve exited:\n{proc.tail()}"
        lines = proc.log().splitlines()
        if not any("/api/events" in line for line in lines):
            return None
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1.0).raise_for_status()
        except httpx.HTTPError:
            return None
        return lines

    lines = wait_for(banner_and_health, timeout=30, interval=0.05, message=lambda: f"scripts/serve up\n{proc.tail()}")
    assert f"offload API on http://127.0.0.1:{port} " in lines[0], lines[0]
    tried = "\n".join(lines[lines.index("try:") + 1 :]).replace("\\\n", "")
    post, events = [line.strip() for line in tried.splitlines()[:2]]
    assert f" 127.0.0.1:{port}/api/jobs " in post and f" 127.0.0.1:{port}/api/events " in events

    out = subprocess.run(["bash", "-c", post], cwd=tree, env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "queued", out.stdout
    out = subprocess.run(
        ["bash", "-c", f"{events} --max-time 2"], cwd=tree, env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 28, out.stderr  # curl gave up waiting: the stream was open
    assert "retry: " in out.stdout, out.stdout
