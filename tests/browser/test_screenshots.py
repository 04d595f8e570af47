"""Every page at 1280 and 390 px wide, light and dark, saved as screenshots (see
conftest: ``$OFFLOAD_SCREENSHOTS`` or a temporary folder) and checked for what a
person would notice first: nothing wider than the window, no script errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import Served, sign_in

PAGES = ["overview", "jobs", "job", "tasks", "schedules"]

# Elements that stick out of the page sideways (a table too wide for a phone must
# scroll inside its own box instead).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  return document.documentElement.scrollWidth > width + 1;
}"""


@pytest.fixture(scope="module")
def populated(served: Served) -> dict[str, str]:
    """Jobs in most states, a schedule, and a job that runs for the whole module."""
    served.token("screens", admin=True)
    with served.api("screens") as api:
        api.post("/api/schedules", json={"task": "quick", "cron": "*/5 * * * *", "id": "every-five"})
        api.post("/api/schedules", json={"task": "steps", "interval": 3600, "id": "hourly-steps"})
    for ok in (True, True, True, False):
        served.submit("screens", "quick", kwargs={"ok": ok})
    served.submit("screens", "parked", 1)
    served.submit("screens", "parked", 2, delay=3600)
    long_job = served.submit("screens", "steps", kwargs={"n": 400, "pause": 0.25})
    served.submit("screens", "steps", kwargs={"n": 300, "pause": 0.3})
    served.wait_status("screens", long_job, {"running"})
    return {"job": long_job}


def _goto(page: Page, base: str, name: str, job_id: str) -> None:
    path = {"overview": "/", "jobs": "/jobs", "job": f"/jobs/{job_id}", "tasks": "/tasks", "schedules": "/schedules"}
    page.goto(base + path[name])
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_at_both_widths_in_both_schemes(
    served: Served, contexts, shots: Path, populated: dict[str, str], width: int, scheme: str
) -> None:
    ctx = contexts(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = sign_in(ctx, served.base, served.tokens["screens"])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    for name in PAGES:
        _goto(page, served.base, name, populated["job"])
        if name == "job":
            expect(page.get_by_role("log").locator("li").first).to_be_visible()
        assert not page.evaluate(OVERFLOW), f"{name} is wider than {width} px"
        page.screenshot(path=str(shots / f"{name}-{width}-{scheme}.png"), full_page=True)
    assert errors == []
    print(f"screenshots in {shots}")
