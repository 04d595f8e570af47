"""The dashboard's requests and answers as plain values: the adapters (Starlette,
FastAPI, Flask) turn their framework's request into a ``Request`` and a ``Reply`` back
into their response. Nothing here imports a web framework."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from ..service import Principal

# No inline script or style, nothing from another origin: job data shown on a page can
# never run as script (the templates escape it too).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Site:
    """Where the dashboard's parts are, as URL paths a browser can use."""

    root: str  # the dashboard's prefix, without a trailing slash ("" when it is at the top)
    events: str  # the SSE stream of every event the visitor may see
    job_events: str  # one job's SSE stream; "{id}" stands for the job id
    sign_out: bool = False  # a Sign out button (sessions of our own)
    user_label: str = ""  # how the signed-in user is named in the header

    def url(self, path: str = "/", query: Mapping[str, object] | None = None) -> str:
        """A URL of the dashboard: ``path`` under the prefix, with the query's non-empty values."""
        out = self.root + path
        if query:
            pairs = [(k, str(v)) for k, v in query.items() if v is not None and v != ""]
            if pairs:
                out += "?" + urlencode(pairs)
        return out

    def job_stream(self, job_id: str) -> str:
        return self.job_events.replace("{id}", quote(job_id, safe=""))


@dataclass(frozen=True, slots=True)
class Request:
    """One request to the dashboard, from a visitor the adapter has identified."""

    method: str  # "GET" or "POST"
    path: str  # below the prefix, starting with "/"
    query: Mapping[str, str]
    form: Mapping[str, Sequence[str]]
    principal: Principal
    csrf: str  # the CSRF token this visitor's forms must carry
    site: Site
    cross_site: bool = False  # the browser said another site sent it (Sec-Fetch-Site)

    def field(self, name: str) -> str | None:
        values = self.form.get(name) or []
        return values[0] if values else None


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def html(body: str, status: int = 200) -> Reply:
    return Reply(status, body.encode(), {"Content-Type": "text/html; charset=utf-8", **PAGE_HEADERS})


def redirect(location: str) -> Reply:
    """303: after a form's POST the browser GETs the page again (no re-POST on reload)."""
    return Reply(303, b"", {"Location": location, "Cache-Control": "no-store"})
