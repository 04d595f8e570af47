"""The browser client's files in service/static/: ``offload.js`` (a classic script, the
code), ``offload.mjs`` (the same client as an ES module) and their TypeScript
declarations. One table of their content types, for ``offload serve``'s static mount
and for the Flask and FastAPI routes alike: the mimetypes module calls ``.d.ts`` a Qt
Linguist file and ``.mts`` an MPEG stream, and knows ``.mjs`` only from some
systems' tables."""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"

JAVASCRIPT = "text/javascript; charset=utf-8"
TYPESCRIPT = "application/typescript; charset=utf-8"

CLIENT_FILES: dict[str, str] = {
    "offload.js": JAVASCRIPT,
    "offload.mjs": JAVASCRIPT,
    "offload.d.ts": TYPESCRIPT,
    "offload.d.mts": TYPESCRIPT,
}

_BY_SUFFIX = ((".d.ts", TYPESCRIPT), (".d.mts", TYPESCRIPT), (".mjs", JAVASCRIPT), (".js", JAVASCRIPT))


def media_type(name: str) -> str | None:
    """The content type of a static file of this kind, or None to let the file's
    server guess."""
    return next((kind for suffix, kind in _BY_SUFFIX if name.endswith(suffix)), None)


def client_file(name: str) -> tuple[str, str]:
    """(text, content type) of one of CLIENT_FILES."""
    return (STATIC / name).read_text(encoding="utf-8"), CLIENT_FILES[name]
