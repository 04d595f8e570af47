"""A small SSE reader for the tests: frames as dicts, with the time each arrived."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx


def frames(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """``{"id", "event", "data", "t"}`` per frame; ``{"comment": text}`` per comment."""
    frame: dict[str, Any] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            yield {"comment": line[1:].strip(), "t": time.monotonic()}
        elif not line:
            if "data" in frame:
                frame["data"] = json.loads(frame["data"])
                frame["t"] = time.monotonic()
                yield frame
            frame = {}
        else:
            field, _, value = line.partition(":")
            frame[field] = value[1:] if value.startswith(" ") else value


def read_all(
    client: httpx.Client, url: str, headers: dict[str, str] | None = None, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Every frame until the server closes the stream."""
    with client.stream("GET", url, headers=headers or {}, timeout=timeout) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return [f for f in frames(r) if "comment" not in f]
