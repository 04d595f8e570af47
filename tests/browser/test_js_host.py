"""The client served by an app's own routes: offload's FastAPI router behind the app's
cookie login (the page imports /offload/offload.mjs; no token anywhere), and the
content types every server gives the client's files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from offload import App
from offload.integrations.flask import offload_blueprint
from offload.service.client import CLIENT_FILES, STATIC
from tests.api.conftest import free_port
from tests.browser import js_support
from tests.browser.js_server import APP, ENV, start_server, stop_server
from tests.browser.js_support import assert_in_order, wait_end, watch
from tests.support.procs import PYTHON, Procs, wait_for


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/login", timeout=1.0).status_code == 422  # up: it wants a user
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tests/browser/js_host.py on uvicorn, and a worker; its base URL."""
    workdir = tmp_path_factory.mktemp("js-host")
    url = f"sqlite:///{workdir / 'jobs.db'}"
    procs = Procs(workdir, url, env=ENV)
    App(url).close()  # migrate before the processes start
    try:
        procs.worker("--concurrency", "2", "--queues", "default", app=APP)
        port = free_port()
        server = procs.start([PYTHON, "-m", "uvicorn", "tests.browser.js_host:api", "--port", str(port)], name="host")
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: server.alive and _answers(base), timeout=20, interval=0.05, message=server.tail)
        yield base
    finally:
        procs.cleanup()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    yield from js_support.pages(browser)


def test_an_app_behind_its_own_login_uses_the_module_with_its_cookies(
    host: str, open_page: Callable[..., Page]
) -> None:
    page = open_page(host, path="/")
    watch(page, "anonymous", "0" * 32, apiBase="/offload")
    assert [e["status"] for e in wait_end(page, "anonymous")["errors"]] == [401]

    page.goto(f"{host}/login?user=mia")
    page.goto(f"{host}/")
    page.wait_for_function("window.ready === true")
    job_id = page.evaluate("async () => (await api.submit('steps', [3, 0.3], {}, {apiBase: '/offload'})).job_id")
    watch(page, "mine", job_id, apiBase="/offload")
    rec = wait_end(page, "mine")
    final = rec["done"]
    assert final["status"] == "completed" and final["result"] == {"steps": 3} and final["owner"] == "mia"
    assert_in_order(rec["updates"], final)
    assert rec["events"] and rec["errors"] == [], "it did not follow the router's stream"

    outcome = page.evaluate(
        """async ([done]) => {
          const o = { apiBase: "/offload" };
          const { job_id } = await api.submit("parked", [1], {}, o);
          const states = [(await api.cancel(job_id, o)).status, (await api.retry(job_id, o)).status,
                          (await api.cancel(job_id, o)).status, (await api.get(job_id, o)).owner];
          try { await api.cancel(done, o); return [states, null]; }
          catch (e) { return [states, [e instanceof api.OffloadError, e.status, e.code]]; }
        }""",
        [job_id],
    )
    assert outcome == [["cancelled", "queued", "cancelled", "mia"], [True, 409, "invalid_transition"]]


def _flask_client(app: App) -> Callable[[str], httpx.Response]:
    flask_app = Flask(__name__)
    flask_app.register_blueprint(offload_blueprint(app, lambda: None), url_prefix="/offload")
    client = flask_app.test_client()

    def get(path: str) -> httpx.Response:
        answer = client.get(path)
        return httpx.Response(answer.status_code, headers=dict(answer.headers), content=answer.data)

    return get


@pytest.fixture(scope="module")
def serve_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_server(tmp_path_factory.mktemp("js-static"))
    yield server.direct
    stop_server(server)


@pytest.mark.parametrize("where", ["offload serve", "fastapi", "flask"])
def test_the_client_files_come_with_their_content_types(
    host: str, serve_base: str, where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if where == "flask":
        store = App(f"sqlite:///{tmp_path / 'jobs.db'}")
        request.addfinalizer(store.close)
        flask = _flask_client(store)
        get = lambda name: flask(f"/offload/{name}")  # noqa: E731
    else:
        base = f"{serve_base}/static" if where == "offload serve" else f"{host}/offload"
        get = lambda name: httpx.get(f"{base}/{name}")  # noqa: E731
    kinds = {}
    for name in CLIENT_FILES:
        answer = get(name)
        assert answer.status_code == 200, (name, answer.text)
        assert answer.text == (STATIC / name).read_text(encoding="utf-8")
        kinds[name] = answer.headers["content-type"].replace(" ", "").lower()
    assert kinds == {
        "offload.js": "text/javascript;charset=utf-8",
        "offload.mjs": "text/javascript;charset=utf-8",
        "offload.d.ts": "application/typescript;charset=utf-8",
        "offload.d.mts": "application/typescript;charset=utf-8",
    }
