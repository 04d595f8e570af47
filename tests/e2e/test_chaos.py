"""The chaos run (bench/chaos.py), short, on each store, as a user runs it: 1,000 jobs
drained by real workers under kill -9 every second or so and SIGSTOPs past the lease.
The script judges the run with the history checker and the store's own record; here
its exit status and its figures must say: nothing lost, nothing completed twice, no
two live runs of a job at once, no result kept from a run whose lease was gone; and
that the attack did happen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "chaos.py"
JOBS = 1000


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_short_chaos_run_loses_nothing_completes_nothing_twice_and_never_overlaps(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    out = tmp_path / "figures.json"
    argv = [sys.executable, str(SCRIPT), "--store", store, "--jobs", str(JOBS), "--kill-every", "1"]
    argv += ["--stop-every", "3", "--seed", "7", "--json", str(out), "--work", str(tmp_path / "work")]
    if store == "postgres":
        argv += ["--pg-url", request.getfixturevalue("postgres_url")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False)
    report = f"exit {done.returncode}\n{done.stdout}\n{done.stderr[-3000:]}"
    assert out.exists(), report
    (figures,) = json.loads(out.read_text())["stores"]

    assert figures["lost"] == [], report
    assert figures["twice"] == [], report
    assert figures["overlaps"] == [], report
    assert figures["late_accepted"] == [], report
    assert figures["completed"] == figures["accepted"] == JOBS, report
    assert done.returncode == 0, report
    # The attack happened: workers were killed with runs in hand, one was frozen past its lease.
    assert figures["kills"] >= 3 and figures["orphans"] >= 1, report
    assert figures["pauses"] >= 1, report
    assert figures["requeued_s"]["n"] >= 1, report
