"""Turn the runner's JSON document into the Markdown report (standard library only)."""

from __future__ import annotations

# (workload, key, column title, format)
COLUMNS = [
    ("enqueue", "rate", "Enqueue (jobs/s)", "{:,.0f}"),
    ("bulk", "rate", "Bulk enqueue (jobs/s)", "{:,.0f}"),
    ("drain", "rate", "Drain (jobs/s)", "{:,.0f}"),
    ("latency", "p50_ms", "Latency p50 (ms)", "{:,.2f}"),
    ("latency", "p99_ms", "Latency p99 (ms)", "{:,.2f}"),
    ("progress", "rate", "Progress drain (jobs/s)", "{:,.0f}"),
    ("io", "seconds", "I/O drain (s)", "{:,.2f}"),
    ("memory", "rss_idle_mb", "RSS idle (MB)", "{:,.0f}"),
    ("memory", "rss_after_mb", "RSS after drain (MB)", "{:,.0f}"),
    ("memory", "idle_cpu_pct", "Idle CPU (%)", "{:,.2f}"),
    ("api", "rate", "API status GETs/s", "{:,.0f}"),
    ("api", "p99_ms", "API GET p99 (ms)", "{:,.1f}"),
    ("scale", "lookup_p99_ms", "Big store: lookup p99 (ms)", "{:,.2f}"),
    ("scale", "claim_rate", "Big store: claim (jobs/s)", "{:,.0f}"),
]

# Start-up apart from the drain: (workload, key, title, format), one column per system.
STEADY = [
    ("drain", "first_s", "worker start to first completion (s)", "{:,.2f}"),
    ("drain", "steady_rate", "first to last completion (jobs/s)", "{:,.0f}"),
    ("progress", "first_s", "worker start to first completion (s)", "{:,.2f}"),
    ("progress", "steady_rate", "first to last completion (jobs/s)", "{:,.0f}"),
    ("progress", "plain_steady_rate", "same N of no-op jobs, first to last completion (jobs/s)", "{:,.0f}"),
    ("progress", "slowdown", "progress slowdown: no-op rate / progress rate (×)", "{:,.2f}"),
]

# The offload-only workloads in full, below the main table: (workload, key, title, format).
DETAILS = [
    ("api", "rate", "status GETs per second (200 answers)", "{:,.0f}"),
    ("api", "p50_ms", "GET latency p50 (ms)", "{:,.2f}"),
    ("api", "p99_ms", "GET latency p99 (ms)", "{:,.2f}"),
    ("api", "non_200", "non-200 answers", "{:,.0f}"),
    ("api", "jobs_done_during", "jobs the worker finished meanwhile", "{:,.0f}"),
    ("scale", "enqueue_s", "bulk enqueue of all jobs (s)", "{:,.1f}"),
    ("scale", "enqueue_rate", "bulk enqueue (jobs/s)", "{:,.0f}"),
    ("scale", "lookup_p50_ms", "status lookup p50 (ms)", "{:,.3f}"),
    ("scale", "lookup_p99_ms", "status lookup p99 (ms)", "{:,.3f}"),
    ("scale", "list_p99_ms", "list completed+noop, first page of 20, p99 (ms)", "{:,.2f}"),
    ("scale", "list_cursor_p99_ms", "same with a random `before=` cursor, p99 (ms)", "{:,.2f}"),
    ("scale", "http_rate", "HTTP status GETs/s, closed loop (16 connections)", "{:,.0f}"),
    ("scale", "http_fixed_achieved", "HTTP status GETs/s at a fixed 2,000/s (achieved)", "{:,.0f}"),
    ("scale", "http_fixed_p50_ms", "HTTP GET p50 at a fixed 2,000/s (ms)", "{:,.2f}"),
    ("scale", "http_fixed_p99_ms", "HTTP GET p99 at a fixed 2,000/s (ms)", "{:,.2f}"),
    ("scale", "claim_rate", "claim: burst worker drains the queued jobs (jobs/s)", "{:,.0f}"),
    ("scale", "size_mb", "store size on disk (MB)", "{:,.0f}"),
    ("scale", "pruned", "jobs pruned", "{:,.0f}"),
    ("scale", "prune_s", "prune time (s)", "{:,.1f}"),
    ("scale", "size_after_prune_mb", "size right after pruning (MB)", "{:,.0f}"),
    ("scale", "compact_s", "compaction time (s)", "{:,.1f}"),
    ("scale", "size_after_compact_mb", "size after compaction (MB)", "{:,.0f}"),
]


def brief(run: dict) -> str:
    """One line for the console."""
    if "error" in run:
        return "ERROR " + run["error"].splitlines()[0][:200]
    if "na" in run:
        return "n/a: " + run["na"]
    r = run["result"]
    parts = []
    for key in ("rate", "seconds", "p50_ms", "p99_ms", "rss_idle_mb", "rss_after_mb", "idle_cpu_pct",
                "enqueue_rate", "lookup_p99_ms", "list_p99_ms", "list_cursor_p99_ms", "claim_rate",
                "http_rate", "http_fixed_p99_ms", "size_mb", "prune_s", "size_after_compact_mb"):
        if key in r:
            parts.append(f"{key}={r[key]:,.2f}")
    return " ".join(parts)


def cell(wl: dict | None, key: str, fmt: str, notes: list[str], system: str) -> str:
    if wl is None:
        return "–"
    for kind in ("na", "error"):
        if kind in wl:
            text = (f"{system}, {wl.get('_name')}: {'n/a' if kind == 'na' else 'error'}"
                    f" — {wl[kind].splitlines()[0][:300]}")
            if kind == "na" and wl[kind].startswith("offload-only"):  # one note for every peer
                text = f"{wl.get('_name')}: n/a for the other systems — {wl[kind]}"
            if text not in notes:
                notes.append(text)
            i = notes.index(text) + 1
            return f"n/a [{i}]" if kind == "na" else f"error [{i}]"
    v = wl.get(key)
    if not isinstance(v, dict):
        return "–"
    text = fmt.format(v["median"])
    if len(v["values"]) > 1 and v["median"]:
        spread = (v["max"] - v["min"]) / 2 / v["median"] * 100
        text += f" ±{spread:.0f}%"
    return text


def markdown(doc: dict) -> str:
    m = doc["machine"]
    sizes = doc["sizes"]
    out = ["# Benchmark results", ""]
    out.append(f"Run {doc['started']}{' (quick smoke run: tiny N)' if doc['quick'] else ''}; "
               f"{doc['repeats']} repeat(s) per workload (memory, scale: 1); medians, ± is half the "
               f"min–max range relative to the median. Total {doc.get('duration_s', 0) / 60:.1f} min.")
    out.append("")
    out.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, "
               f"Python {m['python']}; {m.get('servers', '')}.")
    out.append("")
    loads = [r[k] for e in doc["systems"].values() for wl in e["workloads"].values()
             for r in wl.get("runs", []) for k in ("loadavg_start", "loadavg_end") if k in r]
    if loads:
        out.append(f"1-minute load average around the runs: median {sorted(loads)[len(loads) // 2]:.1f}, "
                   f"max {max(loads):.1f} on {m['cores']} cores (each run's figure is in the JSON; "
                   "runs made while other work used the CPUs are slower and noisier).")
        out.append("")
    out.append("N per workload: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
               + f"; idle CPU window {doc['idle_window_s']:.0f} s.")
    out.append("")
    cols = [c for c in COLUMNS if c[0] in sizes]
    out.append("| System | " + " | ".join(c[2] for c in cols) + " |")
    out.append("|---|" + "---:|" * len(cols))
    notes: list[str] = []
    for system, entry in doc["systems"].items():
        label = entry.get("label") or system
        if "error" in entry and not entry["workloads"]:
            notes.append(f"{system}: {entry['error'].splitlines()[0][:300]}")
            out.append(f"| {label} | " + " | ".join([f"error [{len(notes)}]"] * len(cols)) + " |")
            continue
        row = []
        for w, key, _title, fmt in cols:
            wl = entry["workloads"].get(w)
            if wl is not None:
                wl["_name"] = w
            row.append(cell(wl, key, fmt, notes, system))
            if wl is not None:
                wl.pop("_name", None)
        out.append(f"| {label} | " + " | ".join(row) + " |")
    if notes:
        out += ["", "Notes:", ""]
        seen = []
        for i, n in enumerate(notes, 1):
            out.append(f"{i}. {n}")
            seen.append(n)
    out += _steady(doc)
    out += _details(doc)
    out += ["", "## Worker configuration and versions", "",
            "| System | Versions | Worker (no-op, latency, progress, memory) | Worker (I/O, 50 slots) |",
            "|---|---|---|---|"]
    for system, entry in doc["systems"].items():
        vers = ", ".join(f"{k} {v}" for k, v in (entry.get("versions") or {}).items() if v)
        cfg = entry.get("config") or {}
        out.append(f"| {entry.get('label') or system} | {vers or '–'} | `{_short(cfg.get('cpu'))}` | "
                   f"`{_short(cfg.get('io'))}` |")
    out += ["", "Raw numbers, every repeat and the machine details are in the JSON file beside this one.", ""]
    return "\n".join(out)


def _steady(doc: dict) -> list[str]:
    """Drain and progress with the worker's start-up set apart: the drain counts from the
    worker command's start, which weighs more on 1,000 jobs than on 10,000."""
    intro = ["`rate` in the main table counts from the worker command's start. Here the start-up "
             "(to the first completion) is apart, and the rate runs from the first completion to "
             "the last. The progress workload also drains as many no-op jobs right after, in the "
             "same run and store: its slowdown is the cost of the 100 progress reports a job."]
    return _table(doc, "Start-up and steady drain", intro, STEADY)


def _details(doc: dict) -> list[str]:
    """The offload-only workloads (api, scale): every figure, one column per system."""
    sizes = doc["sizes"]
    intro = []
    if "api" in sizes:
        intro.append(f"`api`: one `offload serve` process (auth on, rate limit off) answers "
                     f"`GET /api/jobs/{{id}}` for random ids of {sizes['api']:,} jobs, from a load "
                     f"generator in another process (2 processes × 8 keep-alive connections, "
                     f"{doc.get('api_seconds', 10):g} s), while an `offload worker` drains those jobs.")
    if "scale" in sizes:
        intro.append(f"`scale`: {sizes['scale']:,} jobs bulk-enqueued, all but 10,000 then marked completed "
                     "in SQL (set-up, untimed); lookups, listing, status GETs over HTTP from one `offload "
                     "serve` on random ids of the whole store (closed loop as in `api`, then open loop at "
                     "a fixed 2,000 requests/s, each timed from the moment it was due), a burst worker "
                     "claiming the 10,000, size, "
                     "pruning to the newest 10,000 completed, compaction (SQLite `VACUUM`, PostgreSQL "
                     "`VACUUM FULL`).")
    return _table(doc, "offload only: HTTP API and a big store", intro, DETAILS)


def _table(doc: dict, title: str, intro: list[str], spec: list[tuple[str, str, str, str]]) -> list[str]:
    sizes = doc["sizes"]
    rows = [d for d in spec if d[0] in sizes]
    systems = [(name, e) for name, e in doc["systems"].items()
               if any(isinstance(e["workloads"].get(w, {}).get(k), dict) for w, k, _t, _f in rows)]
    if not rows or not systems:
        return []
    out = ["", f"## {title}", ""]
    out += intro
    out += ["", "| | " + " | ".join(e.get("label") or n for n, e in systems) + " |",
            "|---|" + "---:|" * len(systems)]
    for w, key, title, fmt in rows:
        cells = []
        for _name, e in systems:
            v = e["workloads"].get(w, {}).get(key)
            if not isinstance(v, dict):
                cells.append("–")
                continue
            text = fmt.format(v["median"])
            if len(v["values"]) > 1 and v["median"]:
                text += f" ±{(v['max'] - v['min']) / 2 / v['median'] * 100:.0f}%"
            cells.append(text)
        out.append(f"| {w}: {title} | " + " | ".join(cells) + " |")
    return out


def _short(cmd: str | None) -> str:
    if not cmd:
        return "–"
    words = cmd.split()
    if words and "/" in words[0]:
        words[0] = words[0].rsplit("/", 1)[1]
    return " ".join("$REDIS_URL" if w.startswith("redis://") else w for w in words)


if __name__ == "__main__":  # re-render: python3 bench/report.py bench/results/latest.json
    import json
    import sys
    from pathlib import Path

    src = Path(sys.argv[1])
    src.with_suffix(".md").write_text(markdown(json.loads(src.read_text())))
