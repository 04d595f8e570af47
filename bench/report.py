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
]


def brief(run: dict) -> str:
    """One line for the console."""
    if "error" in run:
        return "ERROR " + run["error"].splitlines()[0][:200]
    if "na" in run:
        return "n/a: " + run["na"]
    r = run["result"]
    parts = []
    for key in ("rate", "seconds", "p50_ms", "p99_ms", "rss_idle_mb", "rss_after_mb", "idle_cpu_pct"):
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
               f"{doc['repeats']} repeat(s) per workload (memory: 1); medians, ± is half the "
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
