"""The OpenAPI 3.0 document served at ``/api/openapi.json``. Written by hand, and
checked against the running server by the schemathesis tests in tests/api."""

from __future__ import annotations

from typing import Any

from ..names import FILTER_PATTERN, NAME_PATTERN
from ..records import JobStatus

NULL_NUM = {"type": "number", "nullable": True}
NULL_STR = {"type": "string", "nullable": True}
TIME = {"type": "string", "format": "date-time", "nullable": True}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

JOB = {
    "type": "object",
    "required": [
        "id",
        "task",
        "queue",
        "status",
        "priority",
        "owner",
        "args",
        "kwargs",
        "progress",
        "progress_current",
        "progress_total",
        "message",
        "messages",
        "result",
        "error",
        "attempts",
        "max_attempts",
        "created_at",
        "run_at",
        "started_at",
        "completed_at",
        "duration",
        "waiting_reason",
    ],
    "properties": {
        "id": {"type": "string"},
        "task": {"type": "string"},
        "queue": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in JobStatus]},
        "priority": {"type": "integer"},
        "owner": NULL_STR,
        "args": {"type": "array", "items": {}},
        "kwargs": {"type": "object", "additionalProperties": True},
        "progress": {"type": "number", "minimum": 0, "maximum": 100},
        "progress_current": NULL_NUM,
        "progress_total": NULL_NUM,
        "message": NULL_STR,
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["timestamp", "message"],
                "properties": {"timestamp": TIME, "message": {"type": "string"}},
            },
        },
        "result": {"nullable": True, "description": "the task's JSON result once completed"},
        "error": {
            "type": "object",
            "nullable": True,
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "traceback": {"type": "string", "description": "admins only"},
            },
        },
        "attempts": {"type": "integer"},
        "max_attempts": {"type": "integer"},
        "created_at": TIME,
        "run_at": TIME,
        "started_at": TIME,
        "completed_at": TIME,
        "duration": NULL_NUM,
        "waiting_reason": {
            **NULL_STR,
            "description": "why a waiting job can't be claimed now (no live worker serves its task), else null",
        },
    },
}

# A queue, task or owner to look for (offload.names: filters)
FILTER = {"type": "string", "pattern": FILTER_PATTERN}


def _submit(tasks: list[str]) -> dict[str, Any]:
    task: dict[str, Any] = {"type": "string", "minLength": 1}
    if tasks:
        task["enum"] = sorted(tasks)
    return {**SUBMIT, "properties": {**SUBMIT["properties"], "task": task}}


SUBMIT: dict[str, Any] = {
    "type": "object",
    "required": ["task"],
    "additionalProperties": False,
    "properties": {
        "task": {"type": "string", "minLength": 1},
        "args": {"type": "array", "items": {}},
        "kwargs": {"type": "object", "additionalProperties": True},
        "queue": {"type": "string", "pattern": NAME_PATTERN, "description": "one the app declares"},
        "priority": {"type": "integer"},
        "delay": {
            "type": "number",
            "minimum": 0,
            "maximum": 3162240000,
            "description": "seconds from now, at most the max_delay_s setting (a year by default)",
        },
        "run_at": {
            "oneOf": [
                {"type": "string", "format": "date-time"},
                {"type": "number", "minimum": 0, "maximum": 253402300799},
            ],
            "description": "ISO 8601 (UTC when no offset is given) or POSIX seconds",
        },
        "max_attempts": {
            "type": "integer",
            "minimum": 1,
            "description": "at most the max_attempts_limit setting (100 by default)",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": True,
            "minimum": 0,
            "maximum": 3162240000,
            "description": "seconds, at most the max_timeout_s setting (7 days by default)",
        },
        "unique_key": {"type": "string", "minLength": 1, "maxLength": 200, "description": "printable characters"},
    },
}

QUEUE = {
    "type": "object",
    "required": ["name", "paused", "counts", "total"],
    "properties": {
        "name": {"type": "string"},
        "paused": {"type": "boolean"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "total": {"type": "integer"},
    },
}

WORKER = {
    "type": "object",
    "required": [
        "id",
        "host",
        "pid",
        "queues",
        "concurrency",
        "running",
        "running_count",
        "stuck",
        "stuck_count",
        "tasks",
        "started_at",
        "last_heartbeat",
    ],
    "properties": {
        "id": {"type": "string"},
        "host": {"type": "string"},
        "pid": {"type": "integer"},
        "queues": {"type": "array", "items": {"type": "string"}},
        "concurrency": {"type": "integer"},
        "running": {"type": "array", "items": {"type": "string"}, "description": "ids of jobs you may see"},
        "running_count": {"type": "integer"},
        "stuck": {
            "type": "array",
            "items": {"type": "string"},
            "description": "ids of jobs you may see that timed out while their threads still run",
        },
        "stuck_count": {"type": "integer"},
        "tasks": {
            "type": "array",
            "nullable": True,
            "items": {"type": "string"},
            "description": "the tasks it claims; null: any (a worker that records none)",
        },
        "started_at": TIME,
        "last_heartbeat": TIME,
    },
}

HEALTH = {
    "type": "object",
    "required": ["status", "backend"],
    "properties": {
        "status": {
            "type": "string",
            "enum": ["ok", "degraded", "unavailable"],
            "description": "degraded: the store answers reads, but a write failed or took over the budget",
        },
        "backend": {
            "type": "object",
            "required": ["engine", "ok"],
            "properties": {
                "engine": {"type": "string"},
                "ok": {"type": "boolean", "description": "the store answers"},
                "writable": {"type": "boolean", "description": "a write committed"},
                "error": {"type": "string", "description": "why not ok or not writable"},
            },
        },
        "workers": {"type": "object"},
        "unserved_tasks": {
            "type": "array",
            "items": {"type": "string"},
            "description": "tasks with waiting jobs that no live worker serves",
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "malformed request",
        401: "missing, invalid or revoked token",
        403: "admins only",
        404: "no such job (or not yours)",
        409: "the job's state forbids this",
        413: "body too large",
        415: "the body is not application/json",
        422: "unknown task, arguments that don't bind, or a value that isn't JSON",
        429: "too many requests: see Retry-After",
        503: "the store is unreachable",
    }
    out = {}
    for s in statuses:
        resp = _json({"$ref": "#/components/schemas/Error"}, text[s])
        if s in (429, 503):
            resp["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        out[str(s)] = resp
    return out


COMMON = (400, 401, 413, 429, 503)
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    "description": "resume after this event seq",
}
ACCESS_TOKEN = {
    "name": "access_token",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "the token, for EventSource, which can't send headers",
}
SSE = {"description": "text/event-stream of events", "content": {"text/event-stream": {"schema": {"type": "string"}}}}


def _op(op_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": op_id, "summary": summary, "responses": responses, **extra}


def _paths(tasks: list[str]) -> dict[str, Any]:
    job_ok = _json({"$ref": "#/components/schemas/Job"}, "the job")
    return {
        "/api/jobs": {
            "post": _op(
                "submitJob",
                "Submit a job; answered at once with its id",
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
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    **_errors(*COMMON, 415, 422),
                },
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                    },
                ],
                requestBody={"required": True, "content": {"application/json": {"schema": _submit(tasks)}}},
            ),
            "get": _op(
                "listJobs",
                "Jobs you may see, newest first",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["jobs", "next_cursor"],
                            "properties": {
                                "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
                                "next_cursor": NULL_STR,
                            },
                        },
                        "a page of jobs",
                    ),
                    **_errors(*COMMON),
                },
                parameters=[
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": [s.value for s in JobStatus]},
                    },
                    {"name": "queue", "in": "query", "schema": FILTER},
                    {"name": "task", "in": "query", "schema": FILTER},
                    {"name": "owner", "in": "query", "schema": FILTER, "description": "admins only"},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20},
                    },
                    {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9a-zA-Z_-]{1,64}$"}},
                ],
            ),
        },
        "/api/jobs/{job_id}": {
            "parameters": [JOB_ID],
            "get": _op("getJob", "One job", {"200": job_ok, **_errors(*COMMON, 404)}),
            "delete": _op(
                "deleteJob",
                "Delete a job that has ended",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["job_id", "deleted"],
                            "properties": {"job_id": {"type": "string"}, "deleted": {"type": "boolean"}},
                        },
                        "deleted",
                    ),
                    **_errors(*COMMON, 404, 409),
                },
            ),
        },
        "/api/jobs/{job_id}/cancel": {
            "parameters": [JOB_ID],
            "post": _op(
                "cancelJob",
                "Cancel a waiting job, or ask a running one to stop",
                {"200": job_ok, **_errors(*COMMON, 404, 409)},
            ),
        },
        "/api/jobs/{job_id}/retry": {
            "parameters": [JOB_ID],
            "post": _op(
                "retryJob", "Run a failed or cancelled job again", {"200": job_ok, **_errors(*COMMON, 404, 409)}
            ),
        },
        "/api/jobs/{job_id}/events": {
            "parameters": [JOB_ID],
            "get": _op(
                "jobEvents",
                "SSE: the job's state, then its status/progress/message events; ends after the final state",
                {"200": SSE, **_errors(*COMMON, 404)},
                parameters=[LAST_EVENT_ID, ACCESS_TOKEN],
            ),
        },
        "/api/events": {
            "get": _op(
                "allEvents",
                "SSE: every event you may see",
                {"200": SSE, **_errors(*COMMON)},
                parameters=[LAST_EVENT_ID, ACCESS_TOKEN],
            ),
        },
        "/api/queues": {
            "get": _op(
                "listQueues",
                "Queues with job counts by state",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["queues"],
                            "properties": {
                                "queues": {"type": "array", "items": {"$ref": "#/components/schemas/Queue"}}
                            },
                        },
                        "queues",
                    ),
                    **_errors(*COMMON),
                },
            ),
        },
        **{
            f"/api/queues/{{name}}/{action}": {
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "schema": FILTER,
                    }
                ],
                "post": _op(
                    f"{action}Queue",
                    f"{action.capitalize()} a queue (admins only)",
                    {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["name", "paused"],
                                "properties": {"name": {"type": "string"}, "paused": {"type": "boolean"}},
                            },
                            "done",
                        ),
                        **_errors(*COMMON, 403),
                    },
                ),
            }
            for action in ("pause", "resume")
        },
        "/api/workers": {
            "get": _op(
                "listWorkers",
                "Live workers",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["workers"],
                            "properties": {
                                "workers": {"type": "array", "items": {"$ref": "#/components/schemas/Worker"}}
                            },
                        },
                        "workers",
                    ),
                    **_errors(*COMMON),
                },
            ),
        },
        "/api/health": {
            "get": _op(
                "health",
                "Store and worker status (no token needed), within 1 s (health_timeout_s) whatever the store does",
                {
                    "200": _json(HEALTH, "healthy: the store answers reads and commits writes"),
                    "503": _json(HEALTH, "the store is unreachable (unavailable), or its writes fail (degraded)"),
                },
                security=[],
            ),
        },
        "/metrics": {
            "get": _op(
                "metrics",
                "Prometheus text format (admins only)",
                {
                    "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    **_errors(*COMMON, 403),
                },
            ),
        },
    }


def openapi_document(tasks: list[str] | None = None) -> dict[str, Any]:
    """The document; ``tasks``: the registered task names (``task`` is one of them)."""
    from . import openapi_monitoring  # it builds on the helpers above

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "offload",
            "version": "0.1.0",
            "description": (
                "Background jobs: submit, get an id at once, follow progress live. "
                "WebSocket: /api/ws[?job_id=&last_event_id=&access_token=] sends the same JSON as the SSE data."
            ),
        },
        "paths": {**_paths(tasks or []), **openapi_monitoring.paths(tasks or [])},
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Job": JOB, "Error": ERROR, "Queue": QUEUE, "Worker": WORKER, **openapi_monitoring.SCHEMAS},
        },
    }
