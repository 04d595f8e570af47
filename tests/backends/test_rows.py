"""The row order every SQL store selects a job in is JobRecord's own field order:
rows.job_record builds a record by position."""

from __future__ import annotations

import dataclasses

import pytest

from offload.backends import rows
from offload.records import JobRecord, JobStatus


def test_job_columns_are_in_the_order_of_the_records_fields() -> None:
    columns = [c.strip() for c in rows.JOB_COLUMNS.split(",")]
    assert columns == [f.name for f in dataclasses.fields(JobRecord)]


def test_a_row_becomes_the_record_it_names() -> None:
    columns = [c.strip() for c in rows.JOB_COLUMNS.split(",")]
    values = {name: f"v-{name}" for name in columns}
    values.update(status="retrying", args='[1, "a"]', kwargs='{"k": 2}', result='{"ok": true}',
                  messages='[{"at": 1.0, "message": "m"}]', cancel_requested=1)  # fmt: skip
    record = rows.job_record([values[name] for name in columns])
    assert record.status is JobStatus.RETRYING
    assert (record.args, record.kwargs, record.result) == ([1, "a"], {"k": 2}, {"ok": True})
    assert record.messages == [{"at": 1.0, "message": "m"}] and record.cancel_requested is True
    for name in set(columns) - {"status", "args", "kwargs", "result", "messages", "cancel_requested"}:
        assert getattr(record, name) == f"v-{name}", name
    empty = rows.job_record([None if name in ("result", "messages") else values[name] for name in columns])
    assert empty.result is None and empty.messages == []


def test_a_record_built_by_position_equals_the_constructed_one_and_stays_frozen() -> None:
    from offload.records import Outcome

    build = rows.by_position(Outcome)
    made = build("j1", "t1", JobStatus.FAILED, None, "boom", "tb", 5.0, None)
    assert made == Outcome("j1", "t1", JobStatus.FAILED, error="boom", traceback="tb", run_at=5.0)
    assert hash(made) == hash(Outcome("j1", "t1", JobStatus.FAILED, error="boom", traceback="tb", run_at=5.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.error = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        build("j1", "t1")  # every field, by position
