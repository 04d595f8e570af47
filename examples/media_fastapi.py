"""Start a long media job, poll it with backoff, show the result (FastAPI).

    python examples/media_fastapi.py --port 8001
    # or: uvicorn examples.media_fastapi:api --port 8001  plus  offload worker --app examples.media_fastapi:jobs

The current user comes from the ``X-User`` header (or a ``user`` cookie that
/login?user=mia sets) here; a real app uses its session. The dashboard is at
/admin/jobs: mia sees her own jobs there, the user ``admin`` everyone's.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

import offload
from offload import JobContext
from offload.integrations.fastapi import dashboard_router, offload_router

jobs = offload.App()
SPEED = float(os.environ.get("EXAMPLE_SPEED", "1.0"))


@jobs.task(queue="media", timeout=3600)
def generate_video(job: JobContext, prompt: str, frames: int = 30) -> dict[str, object]:
    """A render that takes minutes in real life; reports frame N/M."""
    for frame in range(1, frames + 1):
        job.check_cancelled()
        time.sleep(0.2 * SPEED)
        job.set_progress(frame, frames)
        if frame % 10 == 0 or frame == frames:
            job.add_message(f"Generating frame {frame}/{frames}")
    return {"output_url": f"/exports/{hashlib.sha256(prompt.encode()).hexdigest()[:12]}.mp4", "frames": frames}


def current_user(request: Request) -> str | None:
    return request.headers.get("x-user") or request.query_params.get("user") or request.cookies.get("user")


def is_admin(request: Request) -> bool:
    return current_user(request) == "admin"


api = FastAPI(title="media example")
api.include_router(offload_router(jobs, current_user), prefix="/offload")
api.include_router(
    dashboard_router(
        jobs,
        current_user,
        is_admin=is_admin,
        secret_key=os.environ.get("EXAMPLE_SECRET", "dev-only-secret-change-me"),
        login_url="/",
    ),
    prefix="/admin/jobs",
)


@api.get("/login")
def login(user: str, next: str = "/") -> RedirectResponse:  # noqa: A002 - the usual name of the parameter
    """A stand-in for the app's real login: remembers the user in a cookie."""
    response = RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/", status_code=303)
    response.set_cookie("user", user, httponly=True, samesite="lax")
    return response


PAGE = """<!doctype html><title>Media</title>
<input id=prompt value="a cat surfing at sunset"> <button id=go>Generate video</button>
<p id=status></p><p id=result></p>
<script>
const user = new URLSearchParams(location.search).get('user') || 'demo';
const headers = {'Content-Type': 'application/json', 'X-User': user};
document.getElementById('go').onclick = async () => {
  const r = await fetch('/offload/jobs', {method: 'POST', headers,
    body: JSON.stringify({task: 'generate_video', args: [document.getElementById('prompt').value]})});
  const {job_id} = await r.json();
  let delay = 500;
  for (;;) {
    await new Promise((ok) => setTimeout(ok, delay));
    const res = await fetch('/offload/jobs/' + job_id, {headers});
    if (res.status === 429) { delay = Math.max(delay * 2, 1000 * (+res.headers.get('Retry-After') || 1)); continue; }
    const job = await res.json();
    document.getElementById('status').textContent = `${job.status} ${Math.round(job.progress)}% ${job.message || ''}`;
    if (['completed', 'failed', 'cancelled'].includes(job.status)) {
      document.getElementById('result').textContent = JSON.stringify(job.result || job.error);
      break;
    }
    delay = Math.min(delay * 1.5, 5000);   // back off: long renders need few polls
  }
};
</script>"""


@api.get("/", response_class=HTMLResponse)
def index() -> str:
    return PAGE


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    worker = jobs.run_workers(concurrency=args.workers, queues=["media"]) if args.workers else None
    try:
        uvicorn.run(api, host="127.0.0.1", port=args.port)
    finally:
        if worker is not None:
            worker.stop(grace=5)


if __name__ == "__main__":
    main()
