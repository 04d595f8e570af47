"""Request bodies must be JSON: every route that takes a body refuses any other
Content-Type with 415 and the usual error body, before reading it; nothing is stored."""

from __future__ import annotations

import orjson
import pytest

NOT_JSON = [
    None,
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "application/json-patch+json",
    "",
]
JSON = ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]


def body_routes(api, token: str) -> dict[str, dict]:
    """Every path whose POST takes a body, and that POST, as the OpenAPI document lists them."""
    with api.client(token) as c:
        doc = c.get("/api/openapi.json").json()
    return {path: ops["post"] for path, ops in doc["paths"].items() if "requestBody" in ops.get("post", {})}


def post(c, path: str, body: dict, content_type: str | None):
    headers = {} if content_type is None else {"Content-Type": content_type}
    return c.post(path, content=orjson.dumps(body), headers=headers)


BODIES = {
    "/api/jobs": {"task": "echo", "kwargs": {"value": 1}},
    "/api/schedules": {"task": "echo", "interval": 3600},
}


def test_every_body_route_is_covered_and_documents_415(api):
    routes = body_routes(api, api.token("media-admin", admin=True))
    assert sorted(routes) == sorted(BODIES)
    for path, op in routes.items():
        assert "415" in op["responses"], path


@pytest.mark.parametrize("content_type", NOT_JSON)
@pytest.mark.parametrize("path", sorted(BODIES))
def test_a_body_that_is_not_json_is_415(api, user, path, content_type):
    name, c = user()
    r = post(c, path, BODIES[path], content_type)
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "unsupported_media_type"
    assert set(r.json()["error"]) == {"code", "message"}
    assert api.store.list_jobs(owner=name) == []
    assert [s for s in api.store.schedules.list() if s.owner == name] == []


@pytest.mark.parametrize("content_type", JSON)
def test_json_with_parameters_is_accepted(api, user, content_type):
    name, c = user()
    r = post(c, "/api/jobs", BODIES["/api/jobs"], content_type)
    assert r.status_code == 202, r.text
    s = post(c, "/api/schedules", {**BODIES["/api/schedules"], "id": f"m{len(content_type)}"}, content_type)
    assert s.status_code == 201, s.text
    assert c.delete(f"/api/schedules/{s.json()['id']}").status_code == 200


def test_401_comes_before_415(api):
    with api.client() as anonymous:
        assert post(anonymous, "/api/jobs", BODIES["/api/jobs"], "text/plain").status_code == 401
