"""The dashboard of ``offload serve`` in Chromium: sign-in, live list and progress,
actions, isolation between users, CSRF, sign-out. One server and worker for the
module; each test signs in users of its own."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.support.procs import wait_for

from .conftest import Served, fresh_user, progress_of, sign_in

DRAWN = """() => {
  const bar = document.querySelector('[role="progressbar"]');
  return [bar.getAttribute("aria-valuenow"), bar.querySelector(".fill").getAttribute("width")];
}"""


def test_sign_in_with_a_token_and_sign_out(served: Served, contexts) -> None:
    user = fresh_user(served)
    page = contexts().new_page()
    page.goto(served.base + "/jobs")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fjobs$"))
    page.get_by_label("Token").fill("off_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    page.get_by_label("Token").fill(served.tokens[user])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(served.base + "/jobs")
    expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"].startswith("offload_session"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    assert cookie["expires"] > time.time() + 3600
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    assert not [c for c in page.context.cookies() if c["name"].startswith("offload_session")]
    page.goto(served.base + "/jobs")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    assert page.context.request.get(served.base + "/api/events").status == 401


def test_a_submitted_job_appears_in_the_list_without_a_reload(served: Served, contexts) -> None:
    user = fresh_user(served)
    page = sign_in(contexts(), served.base, served.tokens[user])
    page.goto(served.base + "/jobs")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    job_id = served.submit(user, "parked", 7)
    row = page.locator(f'tr[data-row="{job_id}"]')
    expect(row).to_be_visible()
    expect(row.locator("[data-status]")).to_have_text("queued")
    other = served.submit(user, "quick")
    expect(page.locator(f'tr[data-row="{other}"] [data-status]')).to_have_text("completed")
    search = page.get_by_label("Job id")
    search.fill(job_id[:4])  # the first digits of both (and of other users' jobs, not shown)
    search.press("Enter")
    expect(page.locator("tr[data-row]")).to_have_count(2)
    page.get_by_label("Job id").fill(job_id[:24])
    page.get_by_label("Job id").press("Enter")
    expect(page).to_have_url(f"{served.base}/jobs/{job_id}")


def test_progress_bar_moves_and_messages_arrive_while_the_worker_runs(served: Served, contexts) -> None:
    user = fresh_user(served)
    page = sign_in(contexts(), served.base, served.tokens[user])
    job_id = served.submit(user, "parked")  # opened before it runs: nothing is missed
    page.goto(f"{served.base}/jobs/{job_id}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    job_id = served.submit(user, "steps", kwargs={"n": 8, "pause": 0.35})
    page.goto(f"{served.base}/jobs/{job_id}")
    bar = page.get_by_role("progressbar")
    values = [progress_of(page)]
    deadline = time.monotonic() + 20
    drawn = set()  # (aria-valuenow, the width of the bar's fill) as the page showed them
    while page.locator("[data-status]").first.inner_text() != "completed" and time.monotonic() < deadline:
        value, width = page.evaluate(DRAWN)
        drawn.add((value, width))
        if float(value) != values[-1]:
            values.append(float(value))
        page.wait_for_timeout(30)
    assert all(v == w for v, w in drawn), drawn
    moving = [v for v in values if 0 < v < 100]
    assert len(moving) >= 3, values  # seen moving in the page, not only its end
    assert values == sorted(values)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_role("log")).to_contain_text("step 8/8")
    assert page.get_by_role("log").locator("li").count() == 8
    expect(page.locator("[data-count]")).to_have_text("8 of 8")
    expect(page.get_by_role("heading", name="Result")).to_be_visible()  # re-rendered at the end


def test_cancel_a_running_job_from_its_page(served: Served, contexts) -> None:
    user = fresh_user(served)
    page = sign_in(contexts(), served.base, served.tokens[user])
    job_id = served.submit(user, "steps", kwargs={"n": 100, "pause": 0.2})
    page.goto(f"{served.base}/jobs/{job_id}")
    expect(page.locator("[data-status]")).to_have_text("running")
    expect(page.get_by_role("button", name="Retry")).to_be_disabled()
    expect(page.get_by_role("button", name="Delete")).to_be_disabled()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("[data-status]")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    expect(page.get_by_role("button", name="Retry")).to_be_enabled()
    assert served.job(user, job_id)["status"] == "cancelled"


def test_retry_a_failed_job_from_its_page(served: Served, contexts, tmp_path) -> None:
    user = fresh_user(served)
    page = sign_in(contexts(), served.base, served.tokens[user])
    marker = tmp_path / "marker"
    job_id = served.submit(user, "fails_until", str(marker))
    served.wait_status(user, job_id, {"failed"})
    page.goto(f"{served.base}/jobs/{job_id}")
    expect(page.locator(".errmsg")).to_contain_text("is missing")
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    marker.write_text("here")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("[data-status]")).to_have_text("completed")
    expect(page.get_by_role("heading", name="Result")).to_be_visible()
    assert served.job(user, job_id)["result"] == "found"


def test_pause_and_resume_a_queue_from_the_overview(served: Served, contexts) -> None:
    admin = fresh_user(served, admin=True)
    page = sign_in(contexts(), served.base, served.tokens[admin])
    served.submit(admin, "parked")
    page.goto(served.base + "/")
    page.get_by_role("button", name="Pause queue parked").click()
    expect(page.get_by_role("status").filter(has_text="paused")).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile("^parked")))
    expect(row.locator(".badge.paused")).to_be_visible()
    with served.api(admin) as api:
        assert next(q for q in api.get("/api/queues").json()["queues"] if q["name"] == "parked")["paused"]
        page.get_by_role("button", name="Resume queue parked").click()
        expect(row.locator(".badge.paused")).to_have_count(0)
        assert not next(q for q in api.get("/api/queues").json()["queues"] if q["name"] == "parked")["paused"]


def test_bulk_actions_on_selected_jobs(served: Served, contexts) -> None:
    user = fresh_user(served)
    page = sign_in(contexts(), served.base, served.tokens[user])
    parked = [served.submit(user, "parked", n) for n in range(3)]
    page.goto(served.base + "/jobs?status=queued")
    for job_id in parked[:2]:
        page.get_by_label(f"Select job {job_id[-8:]}").check()
    expect(page.locator("#selection")).to_have_text("2 selected")
    page.get_by_role("button", name="Cancel selected").click()
    expect(page.locator(".flash")).to_contain_text("Cancel requested for 2 jobs")
    assert [served.job(user, j)["status"] for j in parked] == ["cancelled", "cancelled", "queued"]
    page.goto(served.base + "/jobs?status=cancelled")
    page.get_by_label("Select every job on this page").check()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete selected").click()
    expect(page.locator(".flash")).to_contain_text("Deleted: 2 jobs")
    with served.api(user) as api:
        assert [api.get(f"/api/jobs/{j}").status_code for j in parked] == [404, 404, 200]


def test_a_user_sees_and_touches_only_their_own_jobs(served: Served, contexts) -> None:
    alice, bob = fresh_user(served), fresh_user(served)
    a_page = sign_in(contexts(), served.base, served.tokens[alice])
    b_page = sign_in(contexts(), served.base, served.tokens[bob])
    b_page.goto(served.base + "/jobs")
    expect(b_page.locator("#conn")).to_have_attribute("data-state", "live")
    hers = served.submit(alice, "steps", kwargs={"n": 30, "pause": 0.1})
    his = served.submit(bob, "parked")
    expect(b_page.locator(f'tr[data-row="{his}"]')).to_be_visible()  # the live list works ...
    expect(b_page.locator(f'tr[data-row="{hers}"]')).to_have_count(0)  # ... and never shows hers
    b_page.goto(f"{served.base}/jobs/{hers}")
    expect(b_page.get_by_role("heading", name="Not found")).to_be_visible()
    missing = b_page.request.get(f"{served.base}/jobs/{'0' * 32}")
    foreign = b_page.request.get(f"{served.base}/jobs/{hers}")
    assert foreign.status == missing.status == 404
    assert b_page.request.get(f"{served.base}/api/jobs/{hers}/events").status == 404
    csrf = b_page.locator('input[name="csrf"]').first.get_attribute("value")
    acted = b_page.request.post(f"{served.base}/jobs/{hers}/cancel", form={"csrf": csrf})
    assert acted.status == 404
    bulk = b_page.request.post(f"{served.base}/jobs/action", form={"csrf": csrf, "action": "cancel", "ids": hers})
    assert bulk.ok and "skipped" in bulk.text()
    assert served.job(alice, hers)["status"] in {"queued", "running", "completed"}
    a_page.goto(f"{served.base}/jobs/{hers}")
    expect(a_page.get_by_role("progressbar")).to_be_visible()
    root = sign_in(contexts(), served.base, served.tokens["root"])
    root.goto(f"{served.base}/jobs?owner={alice}")
    expect(root.locator(f'tr[data-row="{hers}"]')).to_be_visible()


def test_state_changes_need_the_csrf_token(served: Served, contexts) -> None:
    user = fresh_user(served)
    page = sign_in(contexts(), served.base, served.tokens[user])
    job_id = served.submit(user, "parked")
    page.goto(f"{served.base}/jobs/{job_id}")
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    assert csrf
    url = f"{served.base}/jobs/{job_id}/cancel"
    assert page.request.post(url).status == 403
    assert page.request.post(url, form={"csrf": "x" * len(csrf)}).status == 403
    cross = page.request.post(url, form={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status == 403
    assert page.request.get(url).status in (404, 405)  # no state change on GET
    assert page.request.post(f"{served.base}/sign-out").status == 403
    assert served.job(user, job_id)["status"] == "queued"
    done = page.request.post(url, form={"csrf": csrf}, max_redirects=0)
    assert done.status == 303
    assert served.job(user, job_id)["status"] == "cancelled"


def test_hostile_job_data_runs_no_script(served: Served, contexts) -> None:
    user = fresh_user(served)
    payload = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    page = sign_in(contexts(), served.base, served.tokens[user])
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(served.base + "/jobs")
    job_id = served.submit(user, "hostile", payload)
    expect(page.locator(f'tr[data-row="{job_id}"] [data-status]')).to_have_text("failed")
    response = page.goto(f"{served.base}/jobs/{job_id}")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    expect(page.get_by_role("log")).to_contain_text(payload)
    expect(page.locator(".errmsg")).to_contain_text(payload)
    expect(page.locator("pre.code").first).to_contain_text("window.__pwned")
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    assert page.evaluate("window.__pwned") is None and dialogs == []
    assert "style=" not in page.content()


def test_tasks_and_schedules_pages(served: Served, contexts) -> None:
    admin = fresh_user(served, admin=True)
    with served.api(admin) as api:
        r = api.post("/api/schedules", json={"task": "quick", "interval": 3600, "id": f"hourly-{admin}"})
        assert r.status_code == 201, r.text
    for ok in (True, True, False):
        served.wait_status(admin, served.submit(admin, "quick", kwargs={"ok": ok}), {"completed", "failed"})
    page = sign_in(contexts(), served.base, served.tokens[admin])
    page.goto(served.base + "/tasks")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="quick"))
    expect(row).to_contain_text("%")
    page.get_by_role("link", name="quick", exact=True).click()
    expect(page.get_by_role("img")).to_have_attribute("aria-label", re.compile("Durations of the last"))
    page.goto(served.base + "/schedules")
    page.get_by_role("button", name=f"Run schedule hourly-{admin} now").click()
    expect(page.locator(".flash")).to_contain_text("started a job")
    page.get_by_role("link", name="Open the job").click()
    expect(page.locator("[data-status]")).to_have_text("completed")
    page.goto(served.base + "/schedules")
    page.get_by_role("button", name=f"Pause schedule hourly-{admin}").click()
    expect(page.get_by_role("button", name=f"Resume schedule hourly-{admin}")).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name=f"Delete schedule hourly-{admin}").click()
    expect(page.get_by_text(f"hourly-{admin}", exact=True)).to_have_count(0)


@pytest.mark.parametrize("width", [1280, 390])
def test_keyboard_reaches_every_action(served: Served, contexts, width: int) -> None:
    user = fresh_user(served)
    page = sign_in(contexts(viewport={"width": width, "height": 800}), served.base, served.tokens[user])
    job_id = served.submit(user, "parked")
    page.goto(f"{served.base}/jobs/{job_id}")
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.textContent.trim() || document.activeElement.id"))
        if seen[-1] == "Cancel":
            break
    assert seen[0] == "Skip to content" and "Cancel" in seen, seen
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    wait_for(lambda: served.job(user, job_id)["status"] == "cancelled", message="cancelled by keyboard")
