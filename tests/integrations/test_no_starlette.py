"""The Flask integration and the Flask-mounted dashboard work without Starlette: in a
process where starlette, anyio and uvicorn can't be imported, a Flask app with the
blueprint and the dashboard serves a job's JSON, its SSE stream and a dashboard page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import Procs

CHILD = r"""
import json, sys
BLOCKED = ("starlette", "anyio", "uvicorn")
for name in BLOCKED:
    sys.modules[name] = None  # import fails, as if not installed

import offload.service  # noqa: F401
from offload.dashboard.flask import dashboard_blueprint
from offload.integrations.flask import offload_blueprint

import flask
import offload

jobs = offload.App(sys.argv[1])

@jobs.task()
def count(job, n: int) -> dict:
    for i in range(1, n + 1):
        job.set_progress(i, n)
    return {"counted": n}

host = flask.Flask("host")
host.secret_key = "not-a-secret"
host.register_blueprint(offload_blueprint(jobs, current_user=lambda: "ann"), url_prefix="/offload")
host.register_blueprint(dashboard_blueprint(jobs, current_user=lambda: "ann"), url_prefix="/admin")
web = host.test_client()

submitted = web.post("/offload/jobs", json={"task": "count", "args": [3]})
assert submitted.status_code == 202, submitted.text
job_id = submitted.json["job_id"]
worker = jobs.run_workers(concurrency=1)
try:
    jobs.get_job(job_id).wait(timeout=30)
finally:
    worker.stop(5)

job = web.get(f"/offload/jobs/{job_id}")
fresh = web.get(f"/offload/jobs/{job_id}/events")
resumed = web.get(f"/offload/jobs/{job_id}/events", headers={"Last-Event-ID": "0"})
last_id = [line for line in resumed.get_data(as_text=True).splitlines() if line.startswith("id: ")][-1][4:]
after_end = web.get(f"/offload/jobs/{job_id}/events", headers={"Last-Event-ID": last_id})
missing = web.get("/offload/jobs/" + "0" * 32 + "/events")
page = web.get(f"/admin/jobs/{job_id}")
print(json.dumps({
    "job": [job.status_code, job.json],
    "fresh": [fresh.status_code, fresh.content_type, fresh.get_data(as_text=True)],
    "resumed": [resumed.status_code, resumed.get_data(as_text=True)],
    "after_end": [after_end.status_code, last_id, after_end.get_data(as_text=True)],
    "missing": [missing.status_code, missing.json],
    "page": [page.status_code, page.get_data(as_text=True)],
    "loaded": sorted(m for m, mod in sys.modules.items() if mod is not None and m.split(".")[0] in BLOCKED),
}))
"""


def frames(text: str) -> list[dict[str, object]]:
    """The SSE frames of a whole body, their data parsed."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            out.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
    return out


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        yield p
    finally:
        p.cleanup()


def test_flask_blueprint_and_dashboard_without_starlette(procs: Procs) -> None:
    ran = procs.python(CHILD.replace("sys.argv[1]", repr(procs.url)), timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    seen = json.loads(ran.stdout.strip().splitlines()[-1])

    status, job = seen["job"]
    assert status == 200
    assert (job["status"], job["progress"], job["result"], job["owner"]) == ("completed", 100.0, {"counted": 3}, "ann")

    status, content_type, body = seen["fresh"]
    assert (status, content_type.split(";")[0]) == (200, "text/event-stream")
    assert body.startswith("retry: 1000\n\n")
    (state,) = frames(body)  # the job has ended: its final state, and the stream closes
    assert state["event"] == "state" and state["data"]["data"]["status"] == "completed"

    status, body = seen["resumed"]
    resumed = frames(body)
    assert status == 200
    assert [f["id"] for f in resumed[:-1]] == sorted(f["id"] for f in resumed[:-1])
    assert [f["event"] for f in resumed][-2:] == ["status", "state"]
    progress = [f["data"]["data"]["progress"] for f in resumed if f["event"] == "progress"]
    assert progress and progress[-1] == 100.0
    assert resumed[-1]["data"]["data"]["result"] == {"counted": 3}

    status, last_id, body = seen["after_end"]  # resumed after the final event: the final state only
    (state,) = frames(body)
    assert (status, state["event"], state["id"]) == (200, "state", int(last_id))
    assert state["data"]["data"]["status"] == "completed"

    status, missing = seen["missing"]
    assert (status, missing["error"]["code"]) == (404, "not_found")

    status, page = seen["page"]
    assert status == 200 and 'role="progressbar"' in page

    assert seen["loaded"] == []
