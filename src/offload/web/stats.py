"""HTTP routes for per-task statistics, history and recent failures: thin Starlette
handlers over StatsService."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..service import FailuresQuery, HistoryQuery, StatsQuery, StatsService, text_param
from ..service.stats import HISTORY_ACTION, STATS
from .server import Json, Server, server


def _stats(s: Server) -> StatsService:
    return StatsService(s.app)


def task_stats(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    m = _stats(s)
    m.require_admin(p, STATS)  # before the parameters: a user learns nothing from them
    return Json({"tasks": m.task_stats(p, StatsQuery.from_params(request.query_params).task)})


def task_history(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    m = _stats(s)
    m.require_admin(p, HISTORY_ACTION)
    task = text_param(request.path_params["task"], "task") or ""
    query = HistoryQuery.from_params(request.query_params)
    return Json({"task": task, "runs": m.task_history(p, task, query.limit)})


def failures(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    query = FailuresQuery.from_params(request.query_params)
    return Json({"failures": _stats(s).failures(p, query.hours, query.limit)})
