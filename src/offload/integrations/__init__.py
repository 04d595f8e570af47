"""offload's job endpoints inside an app that already has logins: a Flask blueprint
(``offload.integrations.flask``) and a FastAPI router (``offload.integrations.fastapi``).
Both are thin adapters over the service layer, like ``offload serve``: the same
JobService, the same JSON (offload.service.views), the same error table
(offload.service.http) and the same live streams (offload.service.streams). Neither
needs Starlette for anything FastAPI doesn't bring itself."""

from __future__ import annotations

from .common import follow_job, static_js

__all__ = ["follow_job", "static_js"]
