"""A reverse proxy for tests: serves ``http://127.0.0.1:PORT/PREFIX/...`` from an
upstream server's ``/...``, the way nginx's ``location /PREFIX/ { proxy_pass ...; }``
does. Responses are streamed as they come (SSE included); one request per
connection."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "content-length"}


class PrefixProxy:
    def __init__(self, upstream_port: int, prefix: str) -> None:
        self.upstream_port = upstream_port
        self.prefix = prefix.rstrip("/")
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass

            def do_GET(self) -> None:  # noqa: N802 - the base class's naming
                proxy.forward(self)

            do_POST = do_DELETE = do_GET  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}{self.prefix}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> PrefixProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def forward(self, h: BaseHTTPRequestHandler) -> None:
        if h.path != self.prefix and not h.path.startswith(self.prefix + "/"):
            h.send_error(404, "outside the proxied prefix")
            return
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP}
        headers["X-Forwarded-For"] = h.client_address[0]
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=120)
        try:
            upstream.request(h.command, h.path[len(self.prefix) :] or "/", body or None, headers)
            answer = upstream.getresponse()
            h.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP:
                    h.send_header(name, value)
            h.end_headers()
            while chunk := answer.read1(65536):
                h.wfile.write(chunk)
                h.wfile.flush()
        except (ConnectionError, TimeoutError, http.client.HTTPException):
            pass  # the client or the upstream went away
        finally:
            upstream.close()
