"""A FastAPI app with a login of its own (a cookie) that mounts offload's router at
/offload and serves a page importing the client from there: the browser client
without tokens, as an app behind its own login uses it. The tasks are the API tests'.

    uvicorn tests.browser.js_host:api   plus   offload worker --app tests.api.tasks_api:app
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from offload.integrations.fastapi import offload_router
from tests.api.tasks_api import app as jobs
from tests.browser.js_support import module_page


def current_user(request: Request) -> str | None:
    return request.cookies.get("user")


api = FastAPI()
api.include_router(offload_router(jobs, current_user), prefix="/offload")


@api.get("/", response_class=HTMLResponse)
def page() -> str:
    return module_page("/offload/offload.mjs")


@api.get("/login")
def login(user: str) -> Response:
    answer = Response("signed in")
    answer.set_cookie("user", user, httponly=True, samesite="strict")
    return answer
