"""The constrained values requests are made of, and the one conversion from what a
client sent (a JSON body, a query string, a header) to a checked model.

Each constraint is a ``msgspec.Meta``, so that the check msgspec makes and the schema
the OpenAPI document shows are one definition. What no JSON Schema keyword can say
(``str.isprintable``, a cron expression that fires, a known timezone) is checked in
the model's ``__post_init__`` and described in words.

A wrong body field is an ``InvalidField`` (422) naming the field; a wrong query
parameter or header an ``InvalidRequest`` (400) naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from ...errors import InvalidField, InvalidRequest
from ...names import FILTER_PATTERN, FILTER_RULE, KEY_RULE, MAX_LENGTH, NAME_PATTERN, NAME_RULE

M = TypeVar("M", bound=msgspec.Struct)

MAX_KEY = MAX_LENGTH
MAX_JOB_ID = 64
MAX_SECONDS = 100 * 366 * 86400.0  # a delay or timeout beyond a century is a mistake
MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z, the last time ISO 8601 can write
MAX_PRIORITY = 2**31  # what every store keeps (enqueue checks the same bound)
MAX_EVENT_ID = 2**63 - 1  # event seqs are 64-bit integers
CURSOR_PATTERN = r"^[0-9a-zA-Z_-]{1,64}$"
SCHEDULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"  # ids go into URL paths
SCHEDULE_ID_RULE = "a letter or digit, then letters, digits and ._:@- (at most 200 characters)"

# A queue or task name (offload.names)
Name = Annotated[str, Meta(pattern=NAME_PATTERN, description=NAME_RULE)]
# A queue, task or owner to look for, in a query string or a path (offload.names)
Filter = Annotated[str, Meta(pattern=FILTER_PATTERN, description=FILTER_RULE)]
# A key: printable is checked by the model (no JSON Schema pattern can say it)
Key = Annotated[str, Meta(min_length=1, max_length=MAX_KEY, description=KEY_RULE)]
Cursor = Annotated[str, Meta(pattern=CURSOR_PATTERN, description="next_cursor of the page before")]
EventId = Annotated[int, Meta(ge=0, le=MAX_EVENT_ID, description="an event's id (seq): resume after it")]
JobId = Annotated[str, Meta(max_length=MAX_JOB_ID)]
ScheduleId = Annotated[str, Meta(min_length=1, max_length=MAX_KEY)]
Priority = Annotated[int, Meta(ge=-MAX_PRIORITY, le=MAX_PRIORITY)]

# The rule a pattern stands for, said in words in an error message.
RULES = {
    NAME_PATTERN: f"must be {NAME_RULE}",
    FILTER_PATTERN: f"must be {FILTER_RULE}",
    CURSOR_PATTERN: "not a cursor this API returned",
    SCHEDULE_ID_PATTERN: f"must be {SCHEDULE_ID_RULE}",
}

_WHERE = re.compile(r"^(?P<message>.*?)(?: - at `\$(?:\.(?P<field>\w+))?(?P<deeper>.*)`)?$", re.DOTALL)
_FIELD = re.compile(r"^Object missing required field `(?P<field>\w+)`$")


def from_body(body: Any, model: type[M]) -> M:
    """``body`` (parsed JSON) as ``model``, or InvalidField naming the wrong field
    ("body" for the object as a whole: not an object, an unknown field)."""
    try:
        return msgspec.convert(body, model)
    except msgspec.ValidationError as exc:
        name, reason = explain(exc, model, body if isinstance(body, dict) else {})
        raise InvalidField(name, reason) from None


def from_params(params: Mapping[str, str], model: type[M]) -> M:
    """Query parameters as ``model``: numbers from their text, an empty parameter as a
    missing one, parameters the model doesn't name ignored; InvalidRequest naming the
    parameter."""
    given = {}
    for name in model.__struct_fields__:
        value = params.get(name)
        if value:
            given[name] = value
    try:
        return msgspec.convert(given, model, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(*explain(exc, model, given)) from None


def from_text(value: str, kind: Any, name: str) -> Any:
    """One header or path value as the type ``kind``; InvalidRequest naming ``name``."""
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError as exc:
        where = _WHERE.match(str(exc))
        assert where is not None  # the pattern matches any text
        raise InvalidRequest(
            name, _reason(where.group("message"), _rule(msgspec.inspect.type_info(kind)), value)
        ) from None


def printable(name: str, value: str | None, error: type[InvalidRequest] = InvalidField) -> None:
    """Keys and texts: no control, format or separator characters (KEY_RULE); a body
    field's error by default."""
    if value is not None and not value.isprintable():
        raise error(name, f"must be {KEY_RULE}, got {value!r:.80}")


def explain(exc: msgspec.ValidationError, model: type[msgspec.Struct], given: Mapping[str, Any]) -> tuple[str, str]:
    """(the field or parameter, why) of a ValidationError: msgspec says where as a
    path (``$.limit``, ``$.args[0]``); a missing field is named in its message."""
    where = _WHERE.match(str(exc))
    assert where is not None  # the pattern matches any text
    message, field = where.group("message"), where.group("field")
    if field is None:
        missing = _FIELD.match(message)
        if missing is None:
            return "body", message[:1].lower() + message[1:]
        return missing.group("field"), "required"
    if where.group("deeper"):
        return field, f"{message} at {field}{where.group('deeper')}"
    return field, _reason(message, _field_rule(model, field), given.get(field, msgspec.UNSET))


def _reason(message: str, rule: str | None, value: Any) -> str:
    """msgspec's "Expected `int` >= 1" as "must be `int` >= 1, got 0", or the rule in
    words for a pattern or an enum."""
    if rule is None:
        message = message.split(", got `", 1)[0]
        rule = "must be " + message[len("Expected ") :] if message.startswith("Expected ") else message
    return rule if value is msgspec.UNSET else f"{rule}, got {value!r:.80}"


def _field_rule(model: type[msgspec.Struct], field: str) -> str | None:
    info = msgspec.inspect.type_info(model)
    assert isinstance(info, msgspec.inspect.StructType)
    for f in info.fields:
        if f.name == field:
            return _rule(f.type)
    return None


def _rule(t: msgspec.inspect.Type) -> str | None:
    """The rule of a field's type in words, when it is a pattern or a set of values."""
    if isinstance(t, msgspec.inspect.Metadata):
        return _rule(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        return next((r for r in map(_rule, t.types) if r is not None), None)
    if isinstance(t, msgspec.inspect.StrType) and t.pattern is not None:
        return RULES.get(t.pattern)
    if isinstance(t, msgspec.inspect.EnumType):
        return f"must be one of {', '.join(str(m.value) for m in t.cls)}"
    if isinstance(t, msgspec.inspect.LiteralType):
        return f"must be one of {', '.join(map(str, t.values))}"
    return None
