"""offload's dashboard: pages where a person watches jobs run and acts on them.

The pages are built from the service layer in framework-neutral code (``core``,
``pages``, ``http``, ``sessions``), rendered with the package's Jinja2 templates, and
carried by thin adapters: ``starlette`` (in ``offload serve``, beside /api),
``fastapi`` and ``flask`` (inside a host app, behind its own login; see
``offload.integrations``).
"""

from __future__ import annotations

from .core import Dashboard
from .http import Reply, Request, Site

__all__ = ["Dashboard", "Reply", "Request", "Site"]
