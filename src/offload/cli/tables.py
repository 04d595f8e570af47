"""Tables that fit the terminal they are printed on.

A person reading ``offload jobs list`` at 80 columns needs some columns whole (a job's
id, task, status and progress) more than all of them cut to two letters. So each
column says whether it is kept, and in which order the others join while they fit;
one column of free text (a message, an error) takes what is left, cut with an
ellipsis. Cells are plain text: nothing a job wrote is read as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from rich import box
from rich.table import Table
from rich.text import Text

GAP = 3  # cells between two columns: padding, the blank rule, padding
MIN_TEXT = 12  # a free-text column narrower than this tells nothing: left out instead
SHORT_ID = 12  # hex digits of a job id shown when the whole id does not fit

Cell = str | Text


@dataclass(frozen=True, slots=True)
class Column:
    """How a column behaves when the terminal is narrow."""

    header: str
    keep: bool = False  # always shown and never cut (wrapped, if even the kept ones don't fit)
    rank: int = 99  # the other columns join lowest rank first, while they fit
    text: bool = False  # free text: joins with MIN_TEXT cells, then takes the width left
    justify: Literal["left", "right"] = "left"


@dataclass(frozen=True, slots=True)
class Fitted:
    table: Table
    complete: bool  # every column shown, nothing cut


def fit(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int) -> Fitted:
    """A table of ``rows`` (one cell per column, in order) at most ``width`` wide."""
    cells = [[c if isinstance(c, Text) else Text(" ".join(c.split())) for c in row] for row in rows]
    natural = [max([len(col.header), *(row[i].cell_len for row in cells)]) for i, col in enumerate(columns)]
    need = [min(natural[i], MIN_TEXT) if col.text else natural[i] for i, col in enumerate(columns)]

    def used(shown: list[int]) -> int:
        return sum(need[i] for i in shown) + GAP * (len(shown) - 1)

    shown = [i for i, col in enumerate(columns) if col.keep]
    for i in sorted((i for i, col in enumerate(columns) if not col.keep), key=lambda i: columns[i].rank):
        if used([*shown, i]) <= width:
            shown.append(i)
    spare = width - used(shown)
    widths: dict[int, int] = {}
    for i in shown:
        if columns[i].text:
            widths[i] = min(natural[i], need[i] + spare)
            spare -= widths[i] - need[i]
    complete = len(shown) == len(columns) and all(widths[i] == natural[i] for i in widths)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    order = sorted(shown)
    for i in order:
        col = columns[i]
        overflow: Literal["fold", "ellipsis"] = "ellipsis" if col.text else "fold"
        table.add_column(col.header, justify=col.justify, no_wrap=col.text, overflow=overflow, max_width=widths.get(i))
    for row in cells:
        table.add_row(*(row[i] for i in order))
    return Fitted(table, complete)


def fit_ids(columns: Sequence[Column], rows_with: Callable[[int], Sequence[Sequence[Cell]]], width: int) -> Table:
    """A table with whole job ids when everything fits with them, else with their first
    SHORT_ID digits (every command that takes a job id takes such a prefix).
    ``rows_with(n)``: the rows with ids cut to ``n`` digits."""
    whole = fit(columns, rows_with(32), width)
    return whole.table if whole.complete else fit(columns, rows_with(SHORT_ID), width).table


def styled_status(status: str) -> Text:
    color = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}.get(status, "")
    return Text(status, style=color)


def utc_time(ts: float | None) -> str:
    """A moment to the second, in UTC (the column header says so)."""
    return "" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def age(ts: float | None, now: float) -> str:
    """How long ago: 45s, 12m, 3h, 9d."""
    if ts is None:
        return ""
    seconds = max(0, int(now - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}s"
