"""The dashboard mounted at /admin/jobs inside the examples' host apps (Flask and
FastAPI), behind their own login, driven in Chromium: sign-in by the host, the list,
a job's page with its progress bar moving, an action, and another user kept out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integrations.conftest import example, procs  # noqa: F401 - fixtures of the examples

from .conftest import progress_of

# The mail task never checks for a cancel request, so there the action is Delete,
# once the job has ended; the render stops at its next frame when cancelled.
HOSTS = [
    ("mail_flask", "mail", "fetch_mail", ["anna@example.com"], {"messages": 300}, "Delete"),
    ("media_fastapi", "media", "generate_video", ["a cat"], {"frames": 300}, "Cancel"),
]


def _log_in(page: Page, base: str, user: str, then: str) -> None:
    page.goto(f"{base}/login?user={user}&next={then}")
    expect(page).to_have_url(base + then)


def _submit(page: Page, base: str, task: str, args: list[str], kwargs: dict[str, int]) -> str:
    """Through the host's own job API, as its logged-in user."""
    r = page.request.post(f"{base}/offload/jobs", data={"task": task, "args": args, "kwargs": kwargs})
    assert r.status == 202, r.text()
    job_id: str = r.json()["job_id"]
    return job_id


@pytest.mark.parametrize(("name", "queue", "task", "args", "kwargs", "action"), HOSTS, ids=[h[0] for h in HOSTS])
def test_the_dashboard_inside_a_host_app(example, contexts, name, queue, task, args, kwargs, action) -> None:  # noqa: F811
    base = example(name, queue=queue)
    anna = contexts().new_page()
    anna.goto(base + "/admin/jobs/")
    expect(anna).to_have_url(base + "/")  # not signed in: the host's login page (its login_url)
    _log_in(anna, base, "anna", "/admin/jobs/")
    expect(anna.locator(".user")).to_contain_text("anna")
    expect(anna.get_by_role("button", name="Sign out")).to_have_count(0)  # signing out is the host's
    anna.get_by_role("link", name="Jobs", exact=True).click()
    expect(anna.locator("#conn")).to_have_attribute("data-state", "live")
    job_id = _submit(anna, base, task, args, kwargs)
    anna.locator(f'tr[data-row="{job_id}"] a').first.click()  # it appeared in the open list
    expect(anna).to_have_url(f"{base}/admin/jobs/jobs/{job_id}")
    expect(anna.locator("#conn")).to_have_attribute("data-state", "live")
    seen = {progress_of(anna)}
    for _ in range(200):
        seen.add(progress_of(anna))
        if len({v for v in seen if 0 < v < 100}) >= 3:
            break
        anna.wait_for_timeout(25)
    assert len({v for v in seen if 0 < v < 100}) >= 3, seen  # the bar moved in the page

    ben = contexts().new_page()
    _log_in(ben, base, "ben", "/admin/jobs/jobs")
    expect(ben.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    expect(ben.locator(f'tr[data-row="{job_id}"]')).to_have_count(0)
    csrf = ben.locator('input[name="csrf"]').first.get_attribute("value")
    ben.goto(f"{base}/admin/jobs/jobs/{job_id}")
    expect(ben.get_by_role("heading", name="Not found")).to_be_visible()
    assert ben.request.get(f"{base}/admin/jobs/jobs/{job_id}/events").status == 404
    assert ben.request.post(f"{base}/admin/jobs/jobs/{job_id}/cancel", form={"csrf": csrf}).status == 404

    admin = contexts().new_page()
    _log_in(admin, base, "admin", "/admin/jobs/jobs?owner=anna")
    expect(admin.locator(f'tr[data-row="{job_id}"]')).to_be_visible()

    assert anna.request.post(f"{base}/admin/jobs/jobs/{job_id}/{action.lower()}").status == 403  # no CSRF token
    if action == "Cancel":
        anna.get_by_role("button", name="Cancel").click()
        expect(anna.locator("[data-status]")).to_have_text("cancelled", timeout=15_000)
        expect(anna).to_have_url(re.compile(rf"/admin/jobs/jobs/{job_id}$"))
    else:
        expect(anna.locator("[data-status]")).to_have_text("completed", timeout=15_000)
        anna.once("dialog", lambda d: d.accept())
        anna.get_by_role("button", name="Delete").click()
        expect(anna.locator(".flash")).to_contain_text("Deleted: 1 job")
        assert anna.request.get(f"{base}/offload/jobs/{job_id}").status == 404
