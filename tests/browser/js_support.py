"""What the browser client's tests share: a front door between Chromium and a real
server, the test pages, and the helpers that drive them.

The front door is a small HTTP proxy on a port of its own. The pages come from it, so
a page and the API it calls have one origin, as in an app that serves both. It logs
every request the page makes (when, what, the answer), and it can cut every open
connection (a dropped stream), cut a stream right after a given event, refuse new
connections (a server that can't be reached), or answer some paths itself (a blocked
or overloaded route). One request per connection;
answers are streamed as they come, SSE included.

The pages load the client (as a module or as the classic script) and a harness:
``startWatch(name, jobId, options)`` records each watch's updates, events, end and
errors, and every fetch and EventSource the page starts is counted by URL.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Browser, Page

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "content-length"}


@dataclass
class Hit:
    """One request through the front door."""

    at: float  # time.monotonic() when it came
    method: str
    path: str
    status: int | None = None  # None: no answer (dropped, or refused)
    retry_after: str | None = None
    open: bool = True  # the connection is still open (a stream that runs)


@dataclass
class Rule:
    """Answer requests whose path matches ``pattern`` with ``status`` (``times`` of
    them; None: all), instead of passing them on."""

    pattern: str
    status: int
    headers: dict[str, str]
    times: int | None = None


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a connection the test cut, or the browser left


class FrontDoor:
    def __init__(self, upstream_port: int, pages: dict[str, str]) -> None:
        self.upstream_port = upstream_port
        self.pages = pages
        self.hits: list[Hit] = []
        self.rules: list[Rule] = []
        self.down = False  # drop every new connection, as an unreachable server would
        self.sever: bytes | None = None  # a pattern: cut a stream right after the SSE frame it matches
        self._live: dict[int, tuple[socket.socket, http.client.HTTPConnection | None]] = {}
        self._lock = threading.Lock()
        door = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass

            def do_GET(self) -> None:  # noqa: N802 - the base class's naming
                door.handle(self)

            do_POST = do_DELETE = do_GET  # noqa: N815

        self.server = _Quiet(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.cut()
        self.server.server_close()

    # -- what the tests do --------------------------------------------------------------

    def cut(self) -> int:
        """Close every open connection, both ways; returns how many there were."""
        with self._lock:
            live = list(self._live.values())
        for client, upstream in live:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            if upstream is not None and upstream.sock is not None:
                with contextlib.suppress(OSError):
                    upstream.sock.shutdown(socket.SHUT_RDWR)
        return len(live)

    def answer(
        self, pattern: str, status: int, headers: dict[str, str] | None = None, times: int | None = None
    ) -> Rule:
        rule = Rule(pattern, status, headers or {}, times)
        self.rules.append(rule)
        return rule

    def requests(self, pattern: str = "", since: float = 0.0) -> list[Hit]:
        """The requests whose path matches ``pattern`` (a regular expression), in order."""
        with self._lock:
            return [h for h in self.hits if h.at >= since and re.search(pattern, h.path)]

    # -- serving ------------------------------------------------------------------------

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        hit = Hit(time.monotonic(), h.command, h.path)
        with self._lock:
            self.hits.append(hit)
        try:
            if self.down:
                h.close_connection = True
                with contextlib.suppress(OSError):
                    h.connection.shutdown(socket.SHUT_RDWR)
            elif h.path.split("?")[0] in self.pages:
                self._page(h, hit)
            elif (rule := self._rule_for(h.path)) is not None:
                self._reply(h, hit, rule.status, rule.headers, b'{"error": {"code": "test", "message": "test"}}')
            else:
                self._forward(h, hit)
        finally:
            hit.open = False

    def _rule_for(self, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if re.search(rule.pattern, path) and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def _page(self, h: BaseHTTPRequestHandler, hit: Hit) -> None:
        body = self.pages[h.path.split("?")[0]].encode()
        self._reply(h, hit, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, body)

    def _reply(self, h: BaseHTTPRequestHandler, hit: Hit, status: int, headers: dict[str, str], body: bytes) -> None:
        hit.status = status
        hit.retry_after = headers.get("Retry-After")
        h.send_response(status)
        headers = {"Content-Type": "application/json", **headers, "Content-Length": str(len(body))}
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    def _forward(self, h: BaseHTTPRequestHandler, hit: Hit) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP}
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        key = id(hit)
        with self._lock:
            self._live[key] = (h.connection, upstream)
        try:
            upstream.request(h.command, h.path, body or None, headers)
            answer = upstream.getresponse()
            hit.status = answer.status
            hit.retry_after = answer.getheader("Retry-After")
            h.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP:
                    h.send_header(name, value)
            h.end_headers()
            stream = (answer.getheader("Content-Type") or "").startswith("text/event-stream")
            pending = b""
            while chunk := answer.read1(65536):
                if not stream or self.sever is None:
                    h.wfile.write(chunk)
                    h.wfile.flush()
                    continue
                *frames, pending = (pending + chunk).split(b"\n\n")
                for frame in frames:
                    h.wfile.write(frame + b"\n\n")
                    if re.search(self.sever, frame):
                        h.wfile.flush()
                        raise ConnectionAbortedError("severed after the frame the test named")
                h.wfile.flush()
        except (OSError, http.client.HTTPException):
            # the upstream is gone (or was cut): the browser sees the connection drop
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
        finally:
            with self._lock:
                self._live.pop(key, None)
            upstream.close()


# -- the pages ---------------------------------------------------------------------------

# Drives the client from the tests: ``startWatch(name, jobId, options)`` records each
# watch's updates, events, end and errors in ``watches[name]``; ``api`` is the client
# (the module's exports, or the classic script's global).
HARNESS = """
window.traffic = [];  // every URL the page fetched or streamed, in order
const pageFetch = window.fetch;
window.fetch = function (input, init) {
  window.traffic.push(String((input && input.url) || input));
  return pageFetch.apply(this, arguments);
};
if (window.EventSource) {
  window.EventSource = class extends window.EventSource {
    constructor(url, init) {
      window.traffic.push(String(url));
      super(url, init);
    }
  };
}
window.trafficFor = (part) => window.traffic.filter((url) => url.includes(part)).length;
window.watches = {};
window.startWatch = (name, jobId, options) => {
  const rec = { updates: [], events: [], ended: [], errors: [], done: undefined };
  const w = api.watch(jobId, (job) => rec.updates.push(job), Object.assign({}, options, {
    onEnd: (job) => rec.ended.push(job),
    onError: (status, error) => rec.errors.push({ status, code: error && error.code }),
    onEvent: (event) => rec.events.push(event),
  }));
  w.done.then((job) => { rec.done = job; });
  rec.close = () => w.close();
  window.watches[name] = rec;
};
window.record = (name) => {
  const rec = window.watches[name];
  return { updates: rec.updates, events: rec.events, ended: rec.ended, errors: rec.errors, done: rec.done };
};
"""


def module_page(src: str) -> str:
    """A page that imports the client as an ES module from ``src``."""
    return f"""<!doctype html><meta charset="utf-8"><title>offload.mjs</title>
<script type="module">
import * as client from "{src}";
import {{ watch, submit, get, cancel, retry, OffloadError }} from "{src}";
window.api = {{ watch, submit, get, cancel, retry, OffloadError }};
window.moduleDefault = client.default;
{HARNESS}
window.ready = true;
</script>
"""


CLASSIC_PAGE = f"""<!doctype html><meta charset="utf-8"><title>offload.js</title>
<script src="/static/offload.js"></script>
<script>
window.api = offload;
{HARNESS}
window.ready = true;
</script>
"""

PAGES = {"/test/module.html": module_page("/static/offload.mjs"), "/test/classic.html": CLASSIC_PAGE}


# -- driving the pages -------------------------------------------------------------------

ORDER = {"scheduled": 0, "queued": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}


def pages(browser: Browser) -> Iterator[Callable[..., Page]]:
    """For a fixture to yield from: ``open_page(base, "module" | "classic", path=None)``
    opens a test page in a fresh context; an uncaught error in any page fails the test."""
    contexts = []
    errors: list[str] = []

    def open_page(base: str, kind: str = "module", path: str | None = None) -> Page:
        ctx = browser.new_context()
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + (path or f"/test/{kind}.html"))
        page.wait_for_function("window.ready === true")
        return page

    yield open_page
    for ctx in contexts:
        ctx.close()
    assert errors == [], errors


def watch(page: Page, name: str, job_id: str, **options: Any) -> None:
    page.evaluate("([name, id, options]) => startWatch(name, id, options)", [name, job_id, options])


def record(page: Page, name: str) -> dict[str, Any]:
    rec: dict[str, Any] = page.evaluate("(name) => record(name)", name)
    return rec


def wait_end(page: Page, name: str, timeout: float = 40.0) -> dict[str, Any]:
    """The watch's record once it ended (``done`` resolved)."""
    page.wait_for_function("(name) => watches[name].done !== undefined", arg=name, timeout=timeout * 1000)
    return record(page, name)


def wait_messages(page: Page, name: str, count: int) -> None:
    page.wait_for_function(
        "([name, n]) => watches[name].updates.some((job) => job.messages.length >= n)", arg=[name, count]
    )


def assert_in_order(updates: list[dict[str, Any]], final: dict[str, Any]) -> None:
    """Updates only move forward, and the last one is the job as the server has it."""
    assert updates, "no update"
    ranks = [ORDER[u["status"]] for u in updates]
    assert ranks == sorted(ranks), [u["status"] for u in updates]
    progress = [u["progress"] for u in updates]
    assert progress == sorted(progress), progress
    for before, after in zip(updates, updates[1:], strict=False):
        assert after["messages"][: len(before["messages"])] == before["messages"]
    assert updates[-1] == final
    assert [u["status"] for u in updates].count(final["status"]) == 1, "the final state came more than once"


def event_seqs(rec: dict[str, Any]) -> list[int]:
    """The seqs of the events (not states) the watch handed on, in order."""
    return [e["seq"] for e in rec["events"] if e["type"] != "state"]


def resumed_from(hit: Any) -> int | None:
    values = parse_qs(urlsplit(hit.path).query).get("last_event_id")
    return int(values[0]) if values else None
