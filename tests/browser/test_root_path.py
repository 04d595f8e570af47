"""The dashboard behind a reverse proxy that serves it under /jobs
(``offload serve --root-path /jobs``): every link, form, asset and stream of every
page stays under the prefix, and the session cookie is Secure when the proxy says the
browser came over HTTPS, only from a proxy the server was told to trust."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.proxy import PrefixProxy

from .conftest import Served, progress_of, serve_and_work, sign_in

URLS = """() => {
  const out = [];
  const take = (sel, attr) => document.querySelectorAll(sel).forEach((el) => out.push([sel, el.getAttribute(attr)]));
  take("a[href]", "href"); take("form[action]", "action"); take("link[href]", "href"); take("script[src]", "src");
  for (const name of ["data-events", "data-job-events", "data-fragment", "data-sign-in"]) take(`[${name}]`, name);
  return out.filter(([, value]) => value);
}"""


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, PrefixProxy]]:
    procs, base, store = serve_and_work(
        tmp_path_factory.mktemp("proxied"), extra=("--root-path", "/jobs", "--trusted-proxy", "127.0.0.1")
    )
    proxy = PrefixProxy(int(base.rsplit(":", 1)[1]), "/jobs").start()
    try:
        served = Served(procs, base, store)
        served.token("pat", admin=True)
        yield served, proxy
    finally:
        proxy.stop()
        procs.cleanup()
        store.close()


def test_every_url_of_every_page_keeps_the_prefix(proxied, contexts) -> None:
    served, proxy = proxied
    page = sign_in(contexts(), proxy.base, served.tokens["pat"])
    expect(page).to_have_url(proxy.base + "/")
    job_id = served.submit("pat", "steps", kwargs={"n": 12, "pause": 0.3})
    for path in ("/", "/jobs", f"/jobs/{job_id}", "/tasks", "/tasks/steps", "/schedules"):
        page.goto(proxy.base + path)
        expect(page.locator("#conn")).not_to_have_attribute("data-state", "reconnecting")
        outside = [(s, url) for s, url in page.evaluate(URLS) if not url.startswith(("/jobs/", "#"))]
        assert outside == [], path
    page.goto(f"{proxy.base}/jobs/{job_id}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")  # the stream, through the proxy
    start = progress_of(page)
    expect(page.get_by_role("progressbar")).not_to_have_attribute("aria-valuenow", str(start))
    page.get_by_role("link", name="Jobs", exact=True).first.click()
    expect(page).to_have_url(proxy.base + "/jobs")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(re.escape(proxy.base) + r"/sign-in"))


def _session_cookie(base: str, token: str, headers: dict[str, str]) -> str:
    """Sign in with a plain HTTP client; return the session's Set-Cookie header."""
    with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
        first = c.get("/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', first.text)
        assert csrf is not None
        # sent by hand: the client speaks plain HTTP, so it would keep a Secure cookie to itself
        nonce = first.headers["set-cookie"].split(";")[0]
        c.cookies.clear()
        r = c.post("/sign-in", data={"csrf": csrf.group(1), "token": token, "next": "/"}, headers={"Cookie": nonce})
        assert r.status_code == 303, r.text
        return next(v for k, v in r.headers.multi_items() if k == "set-cookie" and "offload_session" in v)


def test_cookies_are_secure_over_https_only_from_a_trusted_proxy(proxied, tmp_path: Path) -> None:
    served, proxy = proxied
    https = {"X-Forwarded-Proto": "https"}
    assert "secure" in _session_cookie(proxy.base, served.tokens["pat"], https).lower()
    assert "secure" not in _session_cookie(proxy.base, served.tokens["pat"], {}).lower()
    procs, base, store = serve_and_work(tmp_path)  # no --trusted-proxy: the header is ignored
    try:
        from offload.service import TokenService

        token = TokenService(store).create("quinn")[1]
        cookie = _session_cookie(base, token, https)
        assert "secure" not in cookie.lower() and "path=/;" in cookie.lower()
    finally:
        procs.cleanup()
        store.close()
