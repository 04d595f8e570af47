"""The benchmark harness, end to end with tiny N, for offload on SQLite: every workload
runs through bench/driver.py (as bench/run.sh runs it) and the report renders. The
figures are not judged here (bench/run.sh is where they are measured); what is checked
is that each workload completes and reports what it counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

# workload -> (N, keys its result must carry)
WORKLOADS = {
    "enqueue": (200, {"rate", "seconds"}),
    "bulk": (500, {"rate", "seconds"}),
    "drain": (300, {"rate", "steady_rate", "first_s", "rss_after_mb"}),
    "latency": (20, {"p50_ms", "p99_ms"}),
    "progress": (30, {"rate", "steady_rate", "plain_steady_rate", "slowdown"}),
    "io": (50, {"seconds"}),
    "memory": (200, {"rss_idle_mb", "rss_after_mb", "idle_cpu_pct"}),
    "api": (500, {"rate", "p99_ms", "non_200", "jobs_done_during"}),
    "scale": (
        12_000,
        {
            "enqueue_rate",
            "lookup_p99_ms",
            "http_rate",
            "http_fixed_p99_ms",
            "claim_rate",
            "pruned",
            "size_after_compact_mb",
        },
    ),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    work = tmp_path_factory.mktemp("bench")
    env = {"BENCH_WORK": str(work), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    out: dict[str, dict] = {}
    for workload, (n, _keys) in WORKLOADS.items():
        dest = work / f"{workload}.json"
        cmd = [
            sys.executable,
            str(BENCH / "driver.py"),
            "--system",
            "offload-sqlite",
            "--workload",
            workload,
            "--n",
            str(n),
            "--idle",
            "1",
            "--seconds",
            "2",
            "--timeout",
            "120",
            "--out",
            str(dest),
        ]
        subprocess.run(cmd, cwd=BENCH, env=env, check=True, timeout=300)
        out[workload] = json.loads(dest.read_text())
    return out


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_each_workload_completes_and_reports(results: dict[str, dict], workload: str) -> None:
    run = results[workload]
    assert "error" not in run, run.get("traceback") or run["error"]
    result = run["result"]
    n, keys = WORKLOADS[workload]
    assert keys <= set(result), keys - set(result)
    if workload == "api":
        assert result["non_200"] == 0 and result["rate"] > 0
    if workload == "scale":  # every job ends completed; pruning leaves at most the newest 10,000
        assert result["pruned"] > 0 and result["completed_left"] <= 10_000
        assert result["pruned"] + result["completed_left"] == n
        assert result["http_non_200"] == 0 and result["http_fixed_achieved"] > 0
    if workload == "drain":
        assert result["first_s"] > 0 and result["steady_rate"] > 0


def test_the_report_renders(results: dict[str, dict]) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import report
        import runner
    finally:
        sys.path.remove(str(BENCH))
    doc = {
        "started": "now",
        "quick": True,
        "repeats": 1,
        "sizes": {w: n for w, (n, _k) in WORKLOADS.items()},
        "idle_window_s": 1,
        "api_seconds": 2,
        "machine": runner.machine_info(),
        "systems": {
            "offload-sqlite": {
                "label": results["drain"]["label"],
                "workloads": {w: {"runs": [r], **runner.aggregate([r])} for w, r in results.items()},
            }
        },
    }
    doc["machine"]["servers"] = runner.short_versions(doc["machine"])
    text = report.markdown(doc)
    assert "| offload (SQLite) |" in text
    assert "Start-up and steady drain" in text and "HTTP API and a big store" in text
