"""Dashboard: the pages and actions of the dashboard, built on the service layer and
answered as plain values (see http.py), whichever framework carries them.

Every page, fragment and action goes through ``handle``, which checks the CSRF token
of every POST before anything else and turns the services' errors into pages: a job
the visitor may not see is the same 404 page as a missing one.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, DecryptionFailed, InvalidTransition, JobNotFound
from ..service import AccessDenied, InvalidRequest, JobService, ScheduleService, StatsService
from .http import Reply, Request, Site, html
from .pages import ROUTES
from .render import Views
from .sessions import CSRF_FIELD, same

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger(__name__)

Handler = Callable[["Dashboard", Request, dict[str, str]], Reply]

NAV = [
    ("/", "Overview", "overview"),
    ("/jobs", "Jobs", "jobs"),
    ("/tasks", "Tasks", "tasks"),
    ("/schedules", "Schedules", "schedules"),
]


FLASH_KEYS = frozenset({"done", "refused", "n", "skipped", "name", "job", "fragment"})


def _kept(query: Mapping[str, str]) -> dict[str, str]:
    """The query of a page without what only its flash message needed."""
    return {k: v for k, v in query.items() if k not in FLASH_KEYS}


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Dashboard:
    """The dashboard of one App. Adapters make one and call ``handle`` per request."""

    def __init__(self, app: App, *, title: str = "offload") -> None:
        self.app = app
        self.title = title
        self.jobs = JobService(app)
        self.schedules = ScheduleService(app)
        self.stats = StatsService(app)
        self.views = Views()
        self.routes = [Route(m, re.compile(f"^{p}$"), h) for m, p, h in ROUTES]
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    # -- dispatch -----------------------------------------------------------------------

    def handle(self, req: Request) -> Reply:
        if req.method == "GET" and req.path.startswith("/assets/"):
            return self.views.asset(req.path[len("/assets/") :]) or self.error(req, 404, "Not found")
        route, params, allowed = self._match(req)
        if route is None:
            return self.error(req, 405 if allowed else 404, "Not found" if not allowed else "Method not allowed")
        if req.method == "POST" and (req.cross_site or not same(req.field(CSRF_FIELD), req.csrf)):
            log.warning("dashboard: %s %s refused: missing or wrong CSRF token", req.method, req.path)
            return self.error(
                req, 403, "This form has expired or came from another site. Reload the page and try again."
            )
        try:
            return route.handler(self, req, params)
        except JobNotFound:
            return self.error(req, 404, "Not found: there is no such job, or it is not yours.")
        except AccessDenied as exc:
            return self.error(req, 403, f"Not allowed: {exc}")
        except InvalidTransition as exc:
            return self.error(req, 409, str(exc))
        except InvalidRequest as exc:
            return self.error(req, 400, str(exc))
        except DecryptionFailed as exc:
            log.warning("dashboard: %s %s: %s", req.method, req.path, exc)
            return self.error(req, 500, f"An encrypted job can't be shown: {exc}. See docs/security.md on keys.")
        except BackendError as exc:
            log.warning("dashboard: the store failed answering %s %s: %s", req.method, req.path, exc)
            return self.error(req, 503, "The job store is not answering right now. Try again in a moment.")
        except Exception:
            log.exception("dashboard: unexpected error answering %s %s", req.method, req.path)
            return self.error(req, 500, "Something went wrong on our side; the server's log says what.")

    def _match(self, req: Request) -> tuple[Route | None, dict[str, str], bool]:
        allowed = False
        for route in self.routes:
            m = route.pattern.match(req.path)
            if m is None:
                continue
            if route.method == req.method:
                return route, m.groupdict(), True
            allowed = True
        return None, {}, allowed

    # -- rendering ----------------------------------------------------------------------

    def context(self, req: Request, page: str, title: str) -> dict[str, Any]:
        return {
            "site": req.site,
            "me": req.principal,
            "csrf": req.csrf,
            "csrf_field": CSRF_FIELD,
            "nav": NAV,
            "page": page,
            "title": title,
            "brand": self.title,
            "query": req.query,
            "now": time.time(),
            "flash": None,
            "fragment_url": req.site.url(req.path, {**_kept(req.query), "fragment": "1"}),
        }

    def page(self, req: Request, template: str, live: str | None, context: dict[str, Any]) -> Reply:
        """The whole page, or with ``?fragment=1`` only its live part (the page's script
        fetches that to re-render what changed)."""
        if live is not None and req.query.get("fragment"):
            return html(self.views.render(live, context))
        context["live_template"] = live
        return html(self.views.render(template, context))

    def error(self, req: Request, status: int, message: str) -> Reply:
        context = self.context(req, "error", {404: "Not found", 403: "Forbidden"}.get(status, "Error"))
        context.update(status=status, message=message)
        reply = html(self.views.render("error.html", context), status)
        return reply

    def error_bare(self, site: Site, status: int, message: str, login: str | None = None) -> Reply:
        """An error page for a visitor we don't know (no navigation, no user)."""
        title = {401: "Sign in first", 404: "Not found"}.get(status, "Error")
        context = {"site": site, "brand": self.title, "title": title, "status": status, "message": message}
        context["login"] = login
        return html(self.views.render("plain.html", context), status)

    def sign_in_page(self, site: Site, csrf: str, *, next_path: str, error: str | None, status: int = 200) -> Reply:
        context = {"site": site, "csrf": csrf, "csrf_field": CSRF_FIELD, "next": next_path, "error": error}
        context.update(title="Sign in", brand=self.title)
        return html(self.views.render("sign_in.html", context), status)

    # -- small shared caches --------------------------------------------------------------

    def cached(self, key: str, ttl: float, make: Callable[[], Any]) -> Any:
        """``make()``, reused for ``ttl`` seconds: aggregate reads (counts over every job)
        are shared by every open page instead of repeated for each."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] < ttl:
                return hit[1]
        value = make()
        with self._lock:
            self._cache[key] = (now, value)
        return value
