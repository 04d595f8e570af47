"""``/metrics`` in the Prometheus text format (version 0.0.4), written out directly."""

from __future__ import annotations

from typing import Any

from ..records import JobStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(stats: dict[str, Any]) -> str:
    counts: dict[str, dict[str, int]] = stats["counts"]
    paused: set[str] = stats["paused"]
    workers = stats["workers"]
    lines = [
        "# HELP offload_jobs Jobs in the store by queue and state.",
        "# TYPE offload_jobs gauge",
    ]
    for queue in sorted(counts):
        for status in JobStatus:
            n = counts[queue].get(status.value, 0)
            lines.append(f'offload_jobs{{queue="{_label(queue)}",status="{status.value}"}} {n}')
    lines += ["# HELP offload_queue_paused 1 when the queue is paused.", "# TYPE offload_queue_paused gauge"]
    for queue in sorted(set(counts) | paused):
        lines.append(f'offload_queue_paused{{queue="{_label(queue)}"}} {int(queue in paused)}')
    lines += [
        "# HELP offload_workers Live workers.",
        "# TYPE offload_workers gauge",
        f"offload_workers {len(workers)}",
        "# HELP offload_worker_slots Job slots of the live workers.",
        "# TYPE offload_worker_slots gauge",
        f"offload_worker_slots {sum(w.concurrency for w in workers)}",
        "# HELP offload_worker_running_jobs Jobs the live workers are running.",
        "# TYPE offload_worker_running_jobs gauge",
        f"offload_worker_running_jobs {sum(len(w.running) for w in workers)}",
        "# HELP offload_worker_stuck_threads Threads of live workers still busy with a job that timed out.",
        "# TYPE offload_worker_stuck_threads gauge",
        f"offload_worker_stuck_threads {sum(len(w.stuck) for w in workers)}",
    ]
    return "\n".join(lines) + "\n"
