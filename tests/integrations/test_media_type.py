"""The Flask blueprint and the FastAPI router take JSON bodies only, like the HTTP API:
any other Content-Type is a 415 with the usual error body, and nothing is stored."""

from __future__ import annotations

import httpx

BODY = b'{"task": "%s", "args": ["a"]}'
NOT_JSON = [None, "text/plain", "application/x-www-form-urlencoded", "text/plain; charset=utf-8"]


def refused(c: httpx.Client, body: bytes) -> None:
    for content_type in NOT_JSON:
        headers = {} if content_type is None else {"Content-Type": content_type}
        r = c.post("/offload/jobs", content=body, headers=headers)
        assert r.status_code == 415, (content_type, r.text)
        assert r.json()["error"]["code"] == "unsupported_media_type"
    assert c.get("/offload/jobs").json()["jobs"] == []
    ok = c.post("/offload/jobs", content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 202, ok.text


def test_flask_blueprint_refuses_bodies_that_are_not_json(example):
    with httpx.Client(base_url=example("mail_flask", queue="mail"), timeout=10) as c:
        c.get("/login", params={"user": "mia"})
        refused(c, BODY % b"fetch_mail")


def test_fastapi_router_refuses_bodies_that_are_not_json(example):
    with httpx.Client(base_url=example("media_fastapi", queue="media"), timeout=10, headers={"X-User": "mia"}) as c:
        refused(c, BODY % b"generate_video")
