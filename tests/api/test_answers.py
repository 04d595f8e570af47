"""Every answer the document gives a model for, got from the real server and held to
that model (the clients' hook, tests/support/answers.py): a field the model doesn't
name, a missing one or one of another type fails. The other API tests' answers are
held to their models the same way."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from offload.service.openapi import OPERATIONS
from tests.api.conftest import ApiServer, submit, wait_status
from tests.support import answers


def test_every_documented_answer_holds_to_its_model(
    api: ApiServer, user: Callable[..., tuple[str, httpx.Client]]
) -> None:
    _, c = user()
    _, admin = user(admin=True)
    answers.SEEN.clear()

    done = submit(c, "add", 1, 2, max_attempts=2, run_at="2020-01-01T00:00:00Z")
    wait_status(c, done, {"completed"})
    failed = submit(c, "boom")
    wait_status(admin, failed, {"failed"})  # an admin's view of a failure has its traceback
    parked = submit(c, "parked", priority=3, unique_key="answers")
    assert c.get("/api/jobs", params={"limit": 2}).status_code == 200
    assert c.post(f"/api/jobs/{parked}/cancel").status_code == 200
    assert c.post(f"/api/jobs/{parked}/retry").status_code == 200
    assert c.delete(f"/api/jobs/{done}").status_code == 200
    assert c.get("/api/queues").status_code == 200
    assert admin.post("/api/queues/extra/pause").status_code == 200
    assert admin.post("/api/queues/extra/resume").status_code == 200
    assert c.get("/api/workers").status_code == 200
    assert c.get("/api/health").status_code == 200

    body = {"task": "add", "args": [1, 2], "cron": "0 3 * * *", "timezone": "Europe/Berlin", "id": "answers"}
    assert c.post("/api/schedules", json=body).status_code == 201
    assert c.post("/api/schedules", json={**body, "priority": 2}).status_code == 200
    assert c.get("/api/schedules").status_code == 200
    assert c.get("/api/schedules/answers").status_code == 200
    assert c.post("/api/schedules/answers/pause").status_code == 200
    assert c.post("/api/schedules/answers/resume").status_code == 200
    assert c.post("/api/schedules/answers/run").status_code == 202
    assert c.delete("/api/schedules/answers").status_code == 200

    assert admin.get("/api/stats/tasks").status_code == 200
    assert admin.get("/api/stats/tasks/add/history", params={"limit": 5}).status_code == 200
    assert admin.get("/api/failures").status_code == 200
    assert c.get("/api/failures", params={"hours": 1}).status_code == 200
    assert admin.get("/metrics").status_code == 200
    assert c.get("/api/jobs/no-such-job").status_code == 404  # an error: the Error model

    documented = {
        (op.op_id, status)
        for op in OPERATIONS
        for status, reply in op.replies.items()
        if reply.model is not None and status < 300
    }
    assert documented <= answers.SEEN, documented - answers.SEEN
