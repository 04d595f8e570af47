"""HTTP routes for schedules and monitoring: thin Starlette handlers over
ScheduleService and MonitoringService. Errors come from errors.py, like the job routes."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..service import (
    FailuresQuery,
    HistoryQuery,
    MonitoringService,
    ScheduleRequest,
    ScheduleService,
    StatsQuery,
    text_param,
)
from ..service.monitoring import HISTORY_ACTION, STATS
from .api import Json, Server, server
from .limits import read_json


def _schedules(s: Server) -> ScheduleService:
    return ScheduleService(s.app)


def _monitoring(s: Server) -> MonitoringService:
    return MonitoringService(s.app)


# -- schedules ------------------------------------------------------------------------------


def list_schedules(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json({"schedules": _schedules(s).list_schedules(p)})


async def create_schedule(request: Request) -> Response:
    s = server(request)
    p = await run_in_threadpool(s.principal, request)
    body = await read_json(request.stream(), s.body_limit, request.headers.get("content-type"))
    req = ScheduleRequest.from_json(body)
    svc = _schedules(s)
    record, created = await run_in_threadpool(svc.create, p, req)
    body = svc.to_json(p, record)
    headers = {"Location": f"/api/schedules/{body['id']}"}
    return Json(body, status_code=201 if created else 200, headers=headers)


def get_schedule(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    svc = _schedules(s)
    return Json(svc.to_json(p, svc.get(p, request.path_params["schedule_id"])))


def pause_schedule(request: Request) -> Response:
    return _set_paused(request, True)


def resume_schedule(request: Request) -> Response:
    return _set_paused(request, False)


def _set_paused(request: Request, paused: bool) -> Response:
    s = server(request)
    p = s.principal(request)
    svc = _schedules(s)
    return Json(svc.to_json(p, svc.set_paused(p, request.path_params["schedule_id"], paused)))


def run_schedule(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    handle = _schedules(s).run_now(p, request.path_params["schedule_id"])
    return Json(
        {"job_id": handle.id, "status": "queued"},  # as enqueued: a worker may already have it
        status_code=202,
        headers={"Location": f"/api/jobs/{handle.id}"},
    )


def delete_schedule(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    schedule_id = request.path_params["schedule_id"]
    _schedules(s).delete(p, schedule_id)
    return Json({"id": schedule_id, "deleted": True})


# -- monitoring ---------------------------------------------------------------------------------


def task_stats(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    m = _monitoring(s)
    m.require_admin(p, STATS)  # before the parameters: a user learns nothing from them
    return Json({"tasks": m.task_stats(p, StatsQuery.from_params(request.query_params).task)})


def task_history(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    m = _monitoring(s)
    m.require_admin(p, HISTORY_ACTION)
    task = text_param(request.path_params["task"], "task") or ""
    query = HistoryQuery.from_params(request.query_params)
    return Json({"task": task, "runs": m.task_history(p, task, query.limit)})


def failures(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    query = FailuresQuery.from_params(request.query_params)
    return Json({"failures": _monitoring(s).failures(p, query.hours, query.limit)})
