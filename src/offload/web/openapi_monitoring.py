"""The OpenAPI paths and schemas of the schedule and monitoring routes, merged into
``/api/openapi.json`` by openapi.py."""

from __future__ import annotations

from typing import Any

from ..names import NAME_PATTERN
from ..records import JobStatus
from ..service.monitoring import MAX_HOURS, MAX_LIMIT
from ..service.schedules import ID, MAX_INTERVAL
from ..stats import HISTORY
from .openapi import COMMON, FILTER, NULL_NUM, NULL_STR, TIME, _errors, _json, _op

NULL_INT = {"type": "integer", "nullable": True}

SCHEDULE = {
    "type": "object",
    "required": [
        "id",
        "task",
        "args",
        "kwargs",
        "cron",
        "interval",
        "timezone",
        "paused",
        "next_run_at",
        "last_run_at",
        "queue",
        "priority",
        "owner",
    ],
    "properties": {
        "id": {"type": "string"},
        "task": {"type": "string"},
        "args": {"type": "array", "items": {}},
        "kwargs": {"type": "object", "additionalProperties": True},
        "cron": NULL_STR,
        "interval": {**NULL_NUM, "description": "seconds"},
        "timezone": {"type": "string"},
        "paused": {"type": "boolean"},
        "next_run_at": TIME,
        "last_run_at": TIME,
        "queue": {**NULL_STR, "description": "null: the task's queue"},
        "priority": {**NULL_INT, "description": "null: the task's priority"},
        "owner": {**NULL_STR, "description": "the user whose jobs it fires"},
    },
}

_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}

NEW_SCHEDULE: dict[str, Any] = {
    "type": "object",
    "required": ["task"],
    "additionalProperties": False,
    "description": "exactly one of cron or interval",
    "properties": {
        "task": {"type": "string", "minLength": 1},
        "args": {"type": "array", "items": {}},
        "kwargs": {"type": "object", "additionalProperties": True},
        "cron": {**_TEXT, "description": "5 fields (a 6th: seconds), or @hourly, @daily, ..."},
        "interval": {"type": "number", "minimum": 1, "maximum": MAX_INTERVAL, "description": "seconds"},
        "timezone": {**_TEXT, "description": "IANA name; cron times are wall times there (DST included)"},
        "id": {"type": "string", "pattern": ID.pattern, "description": "yours to choose; random when left out"},
        "queue": {"type": "string", "pattern": NAME_PATTERN, "description": "one the app declares"},
        "priority": {"type": "integer"},
    },
}

TASK_STATS = {
    "type": "object",
    "required": [
        "task",
        "total",
        "succeeded",
        "failed",
        "cancelled",
        "total_duration",
        "avg_duration",
        "p95_duration",
        "last_run_at",
        "last_status",
    ],
    "properties": {
        "task": {"type": "string"},
        "total": {"type": "integer"},
        "succeeded": {"type": "integer"},
        "failed": {"type": "integer"},
        "cancelled": {"type": "integer"},
        "total_duration": {"type": "number", "description": "seconds, over every run counted"},
        "avg_duration": NULL_NUM,
        "p95_duration": {**NULL_NUM, "description": f"over the last {HISTORY} runs"},
        "last_run_at": TIME,
        "last_status": NULL_STR,
    },
}

RUN = {
    "type": "object",
    "required": ["job_id", "status", "started_at", "completed_at", "duration", "attempts", "error"],
    "properties": {
        "job_id": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in JobStatus]},
        "started_at": TIME,
        "completed_at": TIME,
        "duration": NULL_NUM,
        "attempts": {"type": "integer"},
        "error": NULL_STR,
    },
}

FAILURE = {
    "type": "object",
    "required": ["job_id", "task", "queue", "error", "attempts", "failed_at", "owner"],
    "properties": {
        "job_id": {"type": "string"},
        "task": {"type": "string"},
        "queue": {"type": "string"},
        "error": NULL_STR,
        "attempts": {"type": "integer"},
        "failed_at": TIME,
        "owner": NULL_STR,
    },
}

SCHEMAS = {"Schedule": SCHEDULE, "TaskStats": TASK_STATS, "TaskRun": RUN, "Failure": FAILURE}

SCHEDULE_ID = {
    "name": "schedule_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
LIMIT: dict[str, Any] = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
}


def _list_of(key: str, ref: str, description: str, **more: Any) -> dict[str, Any]:
    return _json(
        {
            "type": "object",
            "required": [key, *more],
            "properties": {key: {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}, **more},
        },
        description,
    )


def _errs(*statuses: int) -> dict[str, Any]:
    """The usual error answers, worded for schedules."""
    out = _errors(*statuses)
    wording = {"404": "no such schedule (or not yours)", "409": "the id names a schedule that isn't yours"}
    for status, text in wording.items():
        if status in out:
            out[status] = {**out[status], "description": text}
    return out


def _schedule_paths(tasks: list[str]) -> dict[str, Any]:
    one = _json({"$ref": "#/components/schemas/Schedule"}, "the schedule")
    body = NEW_SCHEDULE
    if tasks:
        body = {
            **NEW_SCHEDULE,
            "properties": {**NEW_SCHEDULE["properties"], "task": {"type": "string", "enum": sorted(tasks)}},
        }
    location = {"Location": {"schema": {"type": "string"}}}
    paths: dict[str, Any] = {
        "/api/schedules": {
            "get": _op(
                "listSchedules",
                "Your schedules (every schedule, for admins)",
                {"200": _list_of("schedules", "Schedule", "schedules"), **_errs(*COMMON)},
            ),
            "post": _op(
                "createSchedule",
                "Create a cron or interval schedule whose jobs are yours; an existing id of yours is replaced",
                {
                    "201": {**one, "description": "created", "headers": location},
                    "200": {**one, "description": "replaced", "headers": location},
                    **_errs(*COMMON, 409, 415, 422),
                },
                requestBody={"required": True, "content": {"application/json": {"schema": body}}},
            ),
        },
        "/api/schedules/{schedule_id}": {
            "parameters": [SCHEDULE_ID],
            "get": _op("getSchedule", "One schedule", {"200": one, **_errs(*COMMON, 404)}),
            "delete": _op(
                "deleteSchedule",
                "Delete a schedule (the jobs it fired stay)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["id", "deleted"],
                            "properties": {"id": {"type": "string"}, "deleted": {"type": "boolean"}},
                        },
                        "deleted",
                    ),
                    **_errs(*COMMON, 404),
                },
            ),
        },
        "/api/schedules/{schedule_id}/run": {
            "parameters": [SCHEDULE_ID],
            "post": _op(
                "runSchedule",
                "Enqueue the schedule's job now, outside its timetable",
                {
                    "202": {
                        **_json(
                            {
                                "type": "object",
                                "required": ["job_id", "status"],
                                "properties": {"job_id": {"type": "string"}, "status": {"type": "string"}},
                            },
                            "accepted",
                        ),
                        "headers": location,
                    },
                    **_errs(*COMMON, 404, 422),
                },
            ),
        },
    }
    for action, summary in (("pause", "Stop firing"), ("resume", "Fire again, from the next fire time on")):
        paths[f"/api/schedules/{{schedule_id}}/{action}"] = {
            "parameters": [SCHEDULE_ID],
            "post": _op(f"{action}Schedule", summary, {"200": one, **_errs(*COMMON, 404)}),
        }
    return paths


def _monitoring_paths() -> dict[str, Any]:
    return {
        "/api/stats/tasks": {
            "get": _op(
                "taskStats",
                "Per task: totals, successes, failures, durations, last run (admins only)",
                {"200": _list_of("tasks", "TaskStats", "statistics"), **_errors(*COMMON, 403)},
                parameters=[{"name": "task", "in": "query", "schema": FILTER}],
            ),
        },
        "/api/stats/tasks/{task}/history": {
            "get": _op(
                "taskHistory",
                "A task's finished runs, the newest first (admins only)",
                {"200": _list_of("runs", "TaskRun", "runs", task={"type": "string"}), **_errors(*COMMON, 403)},
                parameters=[
                    {
                        "name": "task",
                        "in": "path",
                        "required": True,
                        "schema": FILTER,
                    },
                    {**LIMIT, "schema": {**LIMIT["schema"], "default": HISTORY}},
                ],
            ),
        },
        "/api/failures": {
            "get": _op(
                "recentFailures",
                "Failed jobs of the last hours, the newest first (users: their own jobs)",
                {"200": _list_of("failures", "Failure", "failures"), **_errors(*COMMON)},
                parameters=[
                    {
                        "name": "hours",
                        "in": "query",
                        "schema": {
                            "type": "number",
                            "exclusiveMinimum": True,
                            "minimum": 0,
                            "maximum": MAX_HOURS,
                            "default": 24,
                        },
                    },
                    {**LIMIT, "schema": {**LIMIT["schema"], "default": 100}},
                ],
            ),
        },
    }


def paths(tasks: list[str]) -> dict[str, Any]:
    return {**_schedule_paths(tasks), **_monitoring_paths()}
