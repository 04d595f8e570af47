"""The OpenAPI document served at ``/api/openapi.json``, generated: the table below
says per operation its method and path, what it does, whether it needs a token, its
request and its answers, and every schema comes from the models in service/models
(``msgspec.json.schema_components``), the very models that check requests.
schemathesis holds the running server to it (tests/api/test_openapi.py)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .models import answers as a
from .models.fields import EventId, Filter, JobId, Key, ScheduleId
from .models.requests import (
    EventsQuery,
    FailuresQuery,
    HistoryQuery,
    ListQuery,
    ScheduleRequest,
    StatsQuery,
    SubmitRequest,
)

REF = "#/components/schemas/{name}"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Param:
    """A path parameter or a header (query strings are models: Operation.query)."""

    name: str
    where: str  # "path" or "header"
    kind: Any  # a type msgspec can describe
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer: its model (None: not JSON), and the headers it carries."""

    model: type[a.Answer] | None
    description: str
    headers: tuple[str, ...] = ()
    media: str = JSON


ERRORS = {
    400: "malformed request",
    401: "missing, invalid or revoked token",
    403: "admins only",
    404: "no such job (or not yours)",
    409: "the job's state forbids this",
    413: "body too large",
    415: "the body is not application/json",
    422: "unknown task, arguments that don't bind, or a field that breaks its rule",
    429: "too many requests: see Retry-After",
    503: "the store is unreachable",
}
COMMON = (400, 401, 413, 429, 503)
SCHEDULE_WORDING = {404: "no such schedule (or not yours)", 409: "the id names a schedule that isn't yours"}


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    op_id: str
    summary: str
    replies: Mapping[int, Reply]
    errors: tuple[int, ...] = COMMON
    body: type[msgspec.Struct] | None = None
    query: type[msgspec.Struct] | None = None
    params: tuple[Param, ...] = ()
    auth: bool = True  # False: no token needed
    wording: Mapping[int, str] = field(default_factory=dict)  # errors worded for the concern


JOB_ID = Param("job_id", "path", JobId)
SCHEDULE_ID = Param("schedule_id", "path", ScheduleId)
LAST_EVENT_ID = Param("Last-Event-ID", "header", EventId, "resume after this event id")
IDEMPOTENCY_KEY = Param("Idempotency-Key", "header", Key, "a retried submission with the same key gets the same job")
SSE = Reply(None, "text/event-stream of events", media="text/event-stream")
JOB = Reply(a.Job, "the job")
SCHEDULE = Reply(a.Schedule, "the schedule")
ACCEPTED = Reply(a.Accepted, "accepted", ("Location",))


def _jobs() -> list[Operation]:
    job = (JOB_ID,)
    return [
        Operation("post", "/api/jobs", "submitJob", "Submit a job; answered at once with its id",
                  {202: ACCEPTED}, (*COMMON, 415, 422), body=SubmitRequest, params=(IDEMPOTENCY_KEY,)),
        Operation("get", "/api/jobs", "listJobs", "Jobs you may see, newest first",
                  {200: Reply(a.JobPage, "a page of jobs")}, query=ListQuery),
        Operation("get", "/api/jobs/{job_id}", "getJob", "One job", {200: JOB}, (*COMMON, 404), params=job),
        Operation("delete", "/api/jobs/{job_id}", "deleteJob", "Delete a job that has ended",
                  {200: Reply(a.JobDeleted, "deleted")}, (*COMMON, 404, 409), params=job),
        Operation("post", "/api/jobs/{job_id}/cancel", "cancelJob",
                  "Cancel a waiting job, or ask a running one to stop",
                  {200: JOB}, (*COMMON, 404, 409), params=job),
        Operation("post", "/api/jobs/{job_id}/retry", "retryJob", "Run a failed or cancelled job again",
                  {200: JOB}, (*COMMON, 404, 409), params=job),
        Operation("get", "/api/jobs/{job_id}/events", "jobEvents",
                  "SSE: the job's state, then its status/progress/message events; ends after the final state",
                  {200: SSE}, (*COMMON, 404), query=EventsQuery, params=(JOB_ID, LAST_EVENT_ID)),
        Operation("get", "/api/events", "allEvents", "SSE: every event you may see",
                  {200: SSE}, query=EventsQuery, params=(LAST_EVENT_ID,)),
        Operation("get", "/api/queues", "listQueues", "Queues with job counts by state",
                  {200: Reply(a.QueueList, "queues")}),
        *(
            Operation("post", f"/api/queues/{{name}}/{action}", f"{action}Queue",
                      f"{action.capitalize()} a queue (admins only)", {200: Reply(a.QueuePaused, "done")},
                      (*COMMON, 403), params=(Param("name", "path", Filter),))
            for action in ("pause", "resume")
        ),
        Operation("get", "/api/workers", "listWorkers", "Live workers", {200: Reply(a.WorkerList, "workers")}),
        Operation("get", "/api/health", "health",
                  "Store and worker status (no token needed), within 1 s (health_timeout_s) whatever the store does",
                  {200: Reply(a.Health, "healthy: the store answers reads and commits writes"),
                   503: Reply(a.Health, "the store is unreachable (unavailable), or its writes fail (degraded)")},
                  errors=(), auth=False),
        Operation("get", "/metrics", "metrics", "Prometheus text format (admins only)",
                  {200: Reply(None, "metrics", media="text/plain")}, (*COMMON, 403)),
    ]  # fmt: skip


def _schedules() -> list[Operation]:
    one, words = (SCHEDULE_ID,), SCHEDULE_WORDING
    located = ("Location",)
    return [
        Operation("get", "/api/schedules", "listSchedules", "Your schedules (every schedule, for admins)",
                  {200: Reply(a.ScheduleList, "schedules")}),
        Operation("post", "/api/schedules", "createSchedule",
                  "Create a cron or interval schedule whose jobs are yours; an existing id of yours is replaced",
                  {201: Reply(a.Schedule, "created", located), 200: Reply(a.Schedule, "replaced", located)},
                  (*COMMON, 409, 415, 422), body=ScheduleRequest, wording=words),
        Operation("get", "/api/schedules/{schedule_id}", "getSchedule", "One schedule",
                  {200: SCHEDULE}, (*COMMON, 404), params=one, wording=words),
        Operation("delete", "/api/schedules/{schedule_id}", "deleteSchedule",
                  "Delete a schedule (the jobs it fired stay)", {200: Reply(a.ScheduleDeleted, "deleted")},
                  (*COMMON, 404), params=one, wording=words),
        Operation("post", "/api/schedules/{schedule_id}/run", "runSchedule",
                  "Enqueue the schedule's job now, outside its timetable", {202: ACCEPTED},
                  (*COMMON, 404, 422), params=one, wording=words),
        Operation("post", "/api/schedules/{schedule_id}/pause", "pauseSchedule", "Stop firing",
                  {200: SCHEDULE}, (*COMMON, 404), params=one, wording=words),
        Operation("post", "/api/schedules/{schedule_id}/resume", "resumeSchedule",
                  "Fire again, from the next fire time on", {200: SCHEDULE}, (*COMMON, 404), params=one, wording=words),
    ]  # fmt: skip


def _stats() -> list[Operation]:
    return [
        Operation("get", "/api/stats/tasks", "taskStats",
                  "Per task: totals, successes, failures, durations, last run (admins only)",
                  {200: Reply(a.TaskStatsList, "statistics")}, (*COMMON, 403), query=StatsQuery),
        Operation("get", "/api/stats/tasks/{task}/history", "taskHistory",
                  "A task's finished runs, the newest first (admins only)", {200: Reply(a.TaskHistory, "runs")},
                  (*COMMON, 403), query=HistoryQuery, params=(Param("task", "path", Filter),)),
        Operation("get", "/api/failures", "recentFailures",
                  "Failed jobs of the last hours, the newest first (users: their own jobs)",
                  {200: Reply(a.FailureList, "failures")}, query=FailuresQuery),
    ]  # fmt: skip


OPERATIONS: tuple[Operation, ...] = (*_jobs(), *_schedules(), *_stats())


def openapi_document(tasks: Iterable[str] = ()) -> dict[str, Any]:
    """The document; ``tasks``: the registered task names (a request's ``task`` is one
    of them). Built once per set of tasks; callers must not change it."""
    return _document(tuple(sorted(tasks)))


@functools.cache
def _document(tasks: tuple[str, ...]) -> dict[str, Any]:
    kinds = list({id(m): m for op in OPERATIONS for m in (a.Error, *_models(op))}.values())
    schemas, components = msgspec.json.schema_components(kinds, ref_template=REF)
    schema_of = dict(zip(map(id, kinds), schemas, strict=True))
    queries = {op.query.__name__ for op in OPERATIONS if op.query is not None}
    query_schemas = {name: components.pop(name) for name in queries}
    for body in ("SubmitRequest", "ScheduleRequest"):
        if tasks:
            components[body]["properties"]["task"]["enum"] = list(tasks)
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        params = [_param(p, schema_of[id(p.kind)]) for p in op.params]
        if op.query is not None:
            params += _query_params(query_schemas[op.query.__name__])
        paths.setdefault(op.path, {})[op.method] = _operation(op, params, schema_of)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "offload",
            "version": "0.1.0",
            "description": (
                "Background jobs: submit, get an id at once, follow progress live. "
                "WebSocket: /api/ws[?job_id=&last_event_id=&access_token=] sends the same JSON as the SSE data."
            ),
        },
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": components},
    }


def _models(op: Operation) -> Iterable[Any]:
    """Every type the operation's schemas come from."""
    if op.body is not None:
        yield op.body
    if op.query is not None:
        yield op.query
    for p in op.params:
        yield p.kind
    for reply in op.replies.values():
        if reply.model is not None:
            yield reply.model


def _operation(op: Operation, params: list[dict[str, Any]], schema_of: dict[int, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.op_id, "summary": op.summary}
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {JSON: {"schema": schema_of[id(op.body)]}}}
    responses = {status: _reply(r, schema_of) for status, r in op.replies.items()}
    for status in op.errors:
        responses[status] = _error(status, op.wording.get(status, ERRORS[status]), schema_of[id(a.Error)])
    out["responses"] = {str(status): responses[status] for status in sorted(responses)}
    if not op.auth:
        out["security"] = []
    return out


def _reply(reply: Reply, schema_of: dict[int, Any]) -> dict[str, Any]:
    schema = {"type": "string"} if reply.model is None else schema_of[id(reply.model)]
    out: dict[str, Any] = {"description": reply.description, "content": {reply.media: {"schema": schema}}}
    if reply.headers:
        out["headers"] = {name: {"schema": {"type": "string"}} for name in reply.headers}
    return out


def _error(status: int, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if status in (429, 503):
        out["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return out


def _param(p: Param, schema: dict[str, Any]) -> dict[str, Any]:
    out = {"name": p.name, "in": p.where, "required": p.where == "path", "schema": schema}
    if p.description:
        out["description"] = p.description
    return out


def _query_params(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as parameters: a missing parameter is the model's None,
    so null is no value a query string can give."""
    out = []
    for name, prop in schema["properties"].items():
        prop = _not_null(prop)
        param = {"name": name, "in": "query", "required": name in schema.get("required", ()), "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        out.append(param)
    return out


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    schema = {k: v for k, v in schema.items() if not (k == "default" and v is None)}
    options = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if "anyOf" in schema and len(options) == 1:
        del schema["anyOf"]
        schema = {**options[0], **schema}
    return schema
