"""Finding the user's App from the command line."""

from __future__ import annotations

import importlib
import os
import sys

import click

from ..app import App


def load_app(spec: str | None, url: str | None) -> App:
    """``module:attr`` (or OFFLOAD_APP) names the App; without one, a bare App on
    ``url`` (or OFFLOAD_URL) serves commands that need no task code."""
    spec = spec or os.environ.get("OFFLOAD_APP")
    if not spec:
        return App(url)
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise click.BadParameter(f"{spec!r}: expected module:attribute, e.g. myapp.tasks:jobs", param_hint="--app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"can't import {module_name!r}: {exc}", param_hint="--app") from None
    app = getattr(module, attr, None)
    if not isinstance(app, App):
        raise click.BadParameter(f"{spec!r} is not an offload.App (found {type(app).__name__})", param_hint="--app")
    if url and url != app.settings.url:
        raise click.BadParameter(f"--url {url!r} differs from the app's own {app.settings.url!r}", param_hint="--url")
    return app
