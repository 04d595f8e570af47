"""Requests checked by their models, over real HTTP: a wrong body field is a 422
``invalid_field`` naming the field and the value, a wrong query parameter or header a
400 naming it; and the document shows the very constraints that refused them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from offload.names import FILTER_PATTERN, NAME_PATTERN

JOB = {"task": "add", "args": [1, 2]}
SCHEDULE = {"task": "add", "args": [1, 2], "interval": 60}


@pytest.mark.parametrize(
    ("path", "body", "field", "shown"),
    [
        ("/api/jobs", {**JOB, "priority": "high"}, "priority", "'high'"),
        ("/api/jobs", {**JOB, "priority": 2**40}, "priority", str(2**40)),
        ("/api/jobs", {**JOB, "delay": -1}, "delay", "-1"),
        ("/api/jobs", {**JOB, "timeout": 0}, "timeout", "0"),
        ("/api/jobs", {**JOB, "max_attempts": 0}, "max_attempts", "0"),
        ("/api/jobs", {**JOB, "run_at": True}, "run_at", "True"),
        ("/api/jobs", {**JOB, "queue": "made up"}, "queue", "'made up'"),
        ("/api/jobs", {**JOB, "unique_key": "x" * 201}, "unique_key", "'xxx"),
        ("/api/jobs", {**JOB, "unique_key": "a\u202eb"}, "unique_key", "'a\\u202eb'"),
        ("/api/jobs", {"args": [1, 2]}, "task", "required"),
        ("/api/jobs", {**JOB, "args": {"a": 1}}, "args", "{'a': 1}"),
        ("/api/jobs", {**JOB, "surprise": 1}, "body", "surprise"),
        ("/api/schedules", {**SCHEDULE, "interval": "60"}, "interval", "'60'"),
        ("/api/schedules", {**SCHEDULE, "id": "a/b"}, "id", "'a/b'"),
        ("/api/schedules", {**SCHEDULE, "priority": True}, "priority", "True"),
        ("/api/schedules", {**SCHEDULE, "timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus'"),
        ("/api/schedules", {**SCHEDULE, "cron": "0 3 * * *"}, "body", "exactly one of cron or interval"),
    ],
)
def test_a_wrong_body_field_is_a_422_naming_it(
    user: Callable[..., tuple[str, httpx.Client]], path: str, body: dict[str, Any], field: str, shown: str
) -> None:
    _, c = user(admin=True)  # admins may use any queue name: the model refuses it, not the queue list
    r = c.post(path, json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_field" and error["message"].startswith(f"{field}: "), error
    assert shown in error["message"], error


@pytest.mark.parametrize(
    ("path", "params", "headers", "name"),
    [
        ("/api/jobs", {"limit": "501"}, {}, "limit"),
        ("/api/jobs", {"status": "sleeping"}, {}, "status"),
        ("/api/jobs", {"cursor": "not a cursor"}, {}, "cursor"),
        ("/api/jobs", {"owner": "a\nb"}, {}, "owner"),
        ("/api/failures", {"hours": "nan"}, {}, "hours"),
        ("/api/failures", {"limit": "1001"}, {}, "limit"),
        ("/api/stats/tasks/add/history", {"limit": "0"}, {}, "limit"),
        ("/api/stats/tasks", {"task": "a\x00b"}, {}, "task"),
        ("/api/events", {}, {"Last-Event-ID": "soon"}, "Last-Event-ID"),
        ("/api/events", {"last_event_id": "-1"}, {}, "last_event_id"),
    ],
)
def test_a_wrong_query_parameter_or_header_is_a_400_naming_it(
    user: Callable[..., tuple[str, httpx.Client]], path: str, params: dict[str, str], headers: dict[str, str], name: str
) -> None:
    _, c = user(admin=True)
    r = c.get(path, params=params, headers=headers)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_request" and error["message"].startswith(f"{name}: "), error


def test_the_document_shows_the_models_constraints(user: Callable[..., tuple[str, httpx.Client]]) -> None:
    _, c = user()
    doc = c.get("/api/openapi.json").json()
    schemas = doc["components"]["schemas"]
    submit = schemas["SubmitRequest"]
    assert submit["required"] == ["task"] and submit["additionalProperties"] is False
    tasks = submit["properties"]["task"]["enum"]  # the tasks of tests.api.tasks_api
    assert {"add", "boom", "parked"} <= set(tasks) and tasks == sorted(tasks)
    assert submit["properties"]["queue"]["anyOf"][0]["pattern"] == NAME_PATTERN
    listing = {p["name"]: p for p in doc["paths"]["/api/jobs"]["get"]["parameters"]}
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 20}
    assert listing["queue"]["schema"]["pattern"] == FILTER_PATTERN
    assert listing["status"]["schema"] == {"$ref": "#/components/schemas/JobStatus"}
    assert "exactly one of cron or interval" in schemas["ScheduleRequest"]["description"]
    assert schemas["Job"]["additionalProperties"] is False and "waiting_reason" in schemas["Job"]["required"]
