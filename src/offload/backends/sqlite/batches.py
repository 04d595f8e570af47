"""Writing many rows at once: a batch of jobs or events goes in multi-row statements.

executemany runs the whole statement again for each row (its cursors on the table and on
every index, its statement journal), which costs more than the row itself; a column that
is None in every row of a batch is written NULL in the statement instead of being bound
(see insert_rows). The figures are in docs/performance.md."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from ... import serialization
from . import queries as q

# (job id, status, attempts, error, owner): what a status event says
StatusRow = tuple[str, str, int, str | None, str | None]

EVENT_NULLABLE = (3,)  # the owner of a status event row (see insert_rows)
ANY_EVENT_NULLABLE = (4,)  # the owner of a (job id, type, data, at, owner) event row


def status_events(c: sqlite3.Connection, changed: Sequence[StatusRow], now: float) -> None:
    """One "status" event per changed job, in one batch."""
    data = [(i, serialization.dumps({"status": st, "attempts": n, "error": e}), now, o) for i, st, n, e, o in changed]
    insert_rows(c, q.status_event_insert, data, nullable=EVENT_NULLABLE)


def insert_rows(
    c: sqlite3.Connection,
    sql: Callable[[int, tuple[int, ...]], str],
    params: Sequence[tuple[Any, ...]],
    *,
    nullable: tuple[int, ...] = (),
) -> None:
    """Insert rows in multi-row statements: at most q.INSERT_ROWS rows a statement, then
    powers of two, so that a connection prepares at most seven sizes of each statement,
    and SQLite's statement cache keeps them.

    A `nullable` column that is None in every row is written NULL in the statement, not
    bound: the driver looks for an adapter for every None it binds, which costs about as
    much as binding the rest of a job's row."""
    if not params:
        return
    null, params = without_nulls(params, nullable)
    i, n = 0, len(params)
    while i < n:
        size = min(q.INSERT_ROWS, 1 << ((n - i).bit_length() - 1))
        c.execute(sql(size, null), list(chain.from_iterable(params[i : i + size])))
        i += size


def without_nulls(
    params: Sequence[tuple[Any, ...]], nullable: tuple[int, ...]
) -> tuple[tuple[int, ...], Sequence[tuple[Any, ...]]]:
    """The `nullable` columns that are None in every row (to be written NULL in the
    statement), and the rows without them."""
    null = tuple(k for k in nullable if params[0][k] is None and all(row[k] is None for row in params))
    if not null:
        return null, params
    bound = [k for k in range(len(params[0])) if k not in null]  # two or more: itemgetter gives tuples
    return null, list(map(itemgetter(*bound), params))
