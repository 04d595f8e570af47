"""JSON in and out. Arguments and results are JSON, never pickle."""

from __future__ import annotations

from typing import Any

import orjson

from .errors import NotSerializable

# Datetimes, dataclasses and subclasses go through `_refuse`: they would come back as
# something else (a string, a dict), so they are refused instead of silently changed.
_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} value {value!r:.80}")


def dumps(value: Any, *, what: str = "value") -> str:
    """Encode plain JSON (dict with str keys, list, str, int, float, bool, None)."""
    try:
        return orjson.dumps(value, default=_refuse, option=_OPTS).decode()
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise NotSerializable(what, str(exc)) from None


def loads(text: str | bytes | None) -> Any:
    if text is None:
        return None
    return orjson.loads(text)
