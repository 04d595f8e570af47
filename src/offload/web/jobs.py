"""``/api/jobs``: submit, list, get, cancel, retry and delete, as thin Starlette
routes over JobService."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..service import ListQuery, SubmitRequest, idempotency_key
from ..service.limits import read_json
from .server import Json, job_json, server


async def submit_job(request: Request) -> Response:
    s = server(request)
    p = await run_in_threadpool(s.principal, request)
    key = idempotency_key(request.headers.get("idempotency-key"))
    body = await read_json(request.stream(), s.body_limit, request.headers.get("content-type"))
    req = SubmitRequest.from_json(body)
    done = await run_in_threadpool(lambda: s.jobs.submit(p, req, idempotency_key=key))
    headers = {"Location": f"/api/jobs/{done.job_id}"}
    if not done.created:
        headers["Idempotent-Replayed"] = "true"
    return Json({"job_id": done.job_id, "status": done.status}, status_code=202, headers=headers)


async def list_jobs(request: Request) -> Response:
    s = server(request)

    def answer() -> Response:
        p = s.principal(request)
        page = s.jobs.list_jobs(p, ListQuery.from_params(request.query_params))
        jobs = [job_json(p, r, s.jobs.waiting_reason(r)) for r in page.jobs]
        return Json({"jobs": jobs, "next_cursor": page.next_cursor})

    return await s.read(answer)


async def get_job(request: Request) -> Response:
    """The hot path of every poller: answered on the event loop without a hand-off to a
    thread, on a store whose reads are local or awaitable."""
    s = server(request)
    job_id = request.path_params["job_id"]
    if s.awaits_reads:
        p, record = await s.job_for(request, job_id)
        return Json(job_json(p, record, await s.jobs.waiting_reason_async(record)))

    def answer() -> Response:
        p = s.principal(request)
        record = s.jobs.get(p, job_id)
        return Json(job_json(p, record, s.jobs.waiting_reason(record)))

    return await s.read(answer)


def cancel_job(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json(job_json(p, s.jobs.cancel(p, request.path_params["job_id"])))


def retry_job(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    return Json(job_json(p, s.jobs.retry(p, request.path_params["job_id"])))


def delete_job(request: Request) -> Response:
    s = server(request)
    p = s.principal(request)
    job_id = request.path_params["job_id"]
    s.jobs.delete(p, job_id)
    return Json({"job_id": job_id, "deleted": True})
