"""offload's job endpoints inside an app that already has logins: a Flask blueprint
(``offload.integrations.flask``) and a FastAPI router (``offload.integrations.fastapi``).
Both call the same JobService as ``offload serve`` and answer errors through the same
table (offload.service.http)."""

from __future__ import annotations

from .common import follow_job, static_js

__all__ = ["follow_job", "static_js"]
