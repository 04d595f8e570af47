"""HTTP routes for schedules: thin Starlette handlers over ScheduleService. Errors
come from the service layer's table, like the job routes."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..service import ScheduleRequest, ScheduleService
from ..service.limits import read_json
from .server import Json, Server, server


def _schedules(s: Server) -> ScheduleService:
    return ScheduleService(s.app)


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
