"""Which strings may name a queue or a task, and which may be a key.

Names (queues and tasks): 1-200 characters of ``A-Z a-z 0-9 _ . : @ -``, the first a
letter, a digit or ``_``. They go unescaped into URL paths
(``/api/queues/{name}/pause``, ``/api/stats/tasks/{task}/history``), query strings, log
lines, metric labels and shell commands, so no ``/``, ``+``, spaces or control
characters; a leading ``.`` or ``-`` would read as a path segment or a command-line
option. Dotted module-style names (``reports.daily``), ``tenant:queue`` and
``user@host`` fit.

Keys (unique keys, idempotency keys, schedule ids, owners and user names): 1-200
printable characters (``str.isprintable``: no control, format, separator other than
the space, surrogate or private-use characters). They are the caller's own text, often
derived from user data, so any script is allowed, but nothing that splits a log line,
hides itself or that PostgreSQL can't store (NUL).

Filters (a queue, task or owner to look for, given in a query string or a path): 1-200
characters without control characters (U+0000-U+001F, U+007F-U+009F). Every stored name
and key passes, names stored before these rules included; what can't be stored (a NUL)
never reaches a store, and the rule is a pattern an OpenAPI client can check.
"""

from __future__ import annotations

import re

MAX_LENGTH = 200
NAME_RULE = f"1-{MAX_LENGTH} characters of A-Z a-z 0-9 _ . : @ -, starting with a letter, a digit or _"
KEY_RULE = f"1-{MAX_LENGTH} printable characters (no control characters)"
FILTER_RULE = f"1-{MAX_LENGTH} characters without control characters"

NAME_PATTERN = rf"^[A-Za-z0-9_][A-Za-z0-9_.:@-]{{0,{MAX_LENGTH - 1}}}$"
FILTER_PATTERN = rf"^[^\x00-\x1f\x7f-\x9f]{{1,{MAX_LENGTH}}}$"

_name = re.compile(NAME_PATTERN[1:-1]).fullmatch
_filter = re.compile(FILTER_PATTERN[1:-1]).fullmatch


def is_name(value: object) -> bool:
    """A valid queue or task name."""
    return isinstance(value, str) and _name(value) is not None


def is_key(value: object) -> bool:
    """A valid key, schedule id, owner or user name."""
    return isinstance(value, str) and 0 < len(value) <= MAX_LENGTH and value.isprintable()


def is_filter(value: object) -> bool:
    """A valid queue, task or owner to filter by."""
    return isinstance(value, str) and _filter(value) is not None


def storable(text: str) -> str:
    """Text any store can hold: NUL, which PostgreSQL can't keep in text, replaced by
    U+FFFD. For what a task produces (error messages, tracebacks, messages), where
    losing the write would lose the job's outcome."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
