"""The dashboard's Jinja2 environment and its static assets, both read from the
package itself (templates/ and static/ beside this module): every adapter, Flask's
included, renders with this environment."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .format import FILTERS, STATUSES
from .http import Reply, Site

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    version: str  # a hash of the content: the URL changes when the file does


def load_assets() -> dict[str, Asset]:
    out = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix in TYPES:
            body = path.read_bytes()
            out[path.name] = Asset(body, TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:12])
    return out


class Views:
    """Renders pages and the live parts of pages (fragments)."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS)
        self.env.globals["STATUSES"] = STATUSES
        self.assets = load_assets()

    def asset_url(self, site: Site, name: str) -> str:
        return site.url(f"/assets/{name}", {"v": self.assets[name].version})

    def render(self, name: str, context: dict[str, Any]) -> str:
        site: Site = context["site"]
        context.setdefault("asset", lambda n: self.asset_url(site, n))
        return self.env.get_template(name).render(context)

    def asset(self, name: str) -> Reply | None:
        found = self.assets.get(name)
        if found is None:
            return None
        headers = {
            "Content-Type": found.content_type,
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        }
        return Reply(200, found.body, headers)
