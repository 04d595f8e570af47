"""schemathesis against /api/openapi.json on the real server: generated requests
(valid and invalid) never get a 5xx, and every answer matches the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.api.conftest import ApiServer


@pytest.fixture(scope="session")
def api_token(api: ApiServer) -> str:
    return api.token("schema-admin", admin=True)


@pytest.fixture(scope="session")
def api_schema(api: ApiServer, api_token: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(
        f"{api.base}/api/openapi.json", headers={"Authorization": f"Bearer {api_token}"}
    )


def operations(schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    ops = [result.ok() for result in schema.get_all_operations()]
    # the SSE endpoints stream until the job ends (or forever): they are tested in test_streams
    return [op for op in ops if not op.path.endswith("/events")]


def test_api_matches_its_openapi_document(api: ApiServer, api_schema: schemathesis.BaseSchema, api_token: str) -> None:
    ops = operations(api_schema)
    assert len(ops) >= 10
    try:
        for op in ops:
            check_operation(op, api_token)
    finally:  # generated schedules would go on firing jobs for the rest of the session
        for record in api.store.schedules.list():
            api.store.schedules.delete(record.id)


def check_operation(op: schemathesis.APIOperation, api_token: str) -> None:
    # whether arguments bind to a task's signature (or a cron expression is valid) is
    # beyond the schema: a schema-valid submission may still be a 422
    creates = ("/api/jobs", "/api/schedules")
    skip = [positive_data_acceptance] if op.method.upper() == "POST" and op.path in creates else []

    @given(case=op.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {api_token}"}, timeout=10, excluded_checks=skip)

    check()


def test_document_lists_every_route(api: ApiServer, api_token: str) -> None:
    import httpx

    doc = httpx.get(f"{api.base}/api/openapi.json", headers={"Authorization": f"Bearer {api_token}"}).json()
    assert set(doc["paths"]) == {
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{job_id}/cancel",
        "/api/jobs/{job_id}/retry",
        "/api/jobs/{job_id}/events",
        "/api/events",
        "/api/queues",
        "/api/queues/{name}/pause",
        "/api/queues/{name}/resume",
        "/api/workers",
        "/api/schedules",
        "/api/schedules/{schedule_id}",
        "/api/schedules/{schedule_id}/pause",
        "/api/schedules/{schedule_id}/resume",
        "/api/schedules/{schedule_id}/run",
        "/api/stats/tasks",
        "/api/stats/tasks/{task}/history",
        "/api/failures",
        "/api/health",
        "/metrics",
    }
