"""set_progress takes the usual calls on a fast path: whatever the path, it takes exactly
the finite numbers (a total of at least 0, or none to keep the last; a current of None
leaves the amount open), refuses the rest with a ValueError that names the argument,
and a refused call changes nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

import offload


class Ratio(float):  # a float subclass, as numeric libraries hand out
    pass


class Count(int):
    pass


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[offload.JobContext]:
    path: Path = tmp_path_factory.mktemp("progress") / "jobs.db"
    app = offload.App(f"sqlite:///{path}")

    @app.task()
    def report(job: offload.JobContext) -> None:
        pass

    report.enqueue()
    [record] = app.backend.job_claim(queues=["default"], limit=1, worker_id="w", lease_s=60)
    yield offload.JobContext(record)
    app.close()


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


numbers = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(Ratio, st.floats(-1e6, 1e6)),
    st.builds(Count, st.integers(-5, 5)),
    st.booleans(),
    st.sampled_from(["3", None, b"1", 2j]),
)


@settings(max_examples=400, deadline=None)
@given(calls=st.lists(st.tuples(numbers, st.one_of(st.none(), numbers)), min_size=1, max_size=6))
def test_set_progress_takes_exactly_the_finite_numbers(ctx: offload.JobContext, calls: list[tuple[Any, Any]]) -> None:
    ctx.set_progress(0, 1)
    expected = (0, 1)
    for current, total in calls:
        ok = (current is None or finite(current)) and (total is None or (finite(total) and total >= 0))
        if ok:
            ctx.set_progress(current, total)
            expected = (current, expected[1] if total is None else total)
        else:
            bad = "total" if current is None or finite(current) else "current"
            with pytest.raises(ValueError, match=f"^set_progress: {bad} must be "):
                ctx.set_progress(current, total)
        update = ctx.take_progress()
        assert update is not None
        assert (update.current, update.total) == expected
        assert type(update.current) is type(expected[0])
        ctx.restore(update)  # still pending: the next check sees a write either way
