"""Finding the user's App from the command line, and naming its store in messages."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

import click

from ..app import App

EXAMPLE = "--app myapp.tasks:jobs"


def need_app(spec: str | None) -> str:
    """The ``module:attr`` of a command that runs or checks the app's tasks (worker,
    enqueue, schedules add/run-now): without --app or OFFLOAD_APP such a command would
    start on a bare App that knows no task, so it refuses to start instead."""
    spec = spec or os.environ.get("OFFLOAD_APP")
    if not spec:
        command = click.get_current_context().command_path
        raise click.UsageError(
            f"{command} needs your tasks: give --app module:attribute (or set OFFLOAD_APP), e.g. {EXAMPLE}"
        )
    return spec


def load_app(spec: str | None, url: str | None, *, tasks: bool = False) -> App:
    """``module:attr`` (or OFFLOAD_APP) names the App; without one, a bare App on
    ``url`` (or OFFLOAD_URL) serves commands that need only the store. ``tasks``: the
    command needs the app's tasks, so --app (or OFFLOAD_APP) is required."""
    spec = need_app(spec) if tasks else spec or os.environ.get("OFFLOAD_APP")
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
    app = _app_attribute(module, module_name, attr)
    if tasks and not app.tasks:
        raise click.BadParameter(f"{spec!r} has no tasks: nothing would run", param_hint="--app")
    if url and url != app.settings.url:
        raise click.BadParameter(f"--url {url!r} differs from the app's own {app.settings.url!r}", param_hint="--url")
    return app


def _app_attribute(module: ModuleType, module_name: str, attr: str) -> App:
    """``module.attr`` when it is an App; else an error that says what was found and
    which Apps the module does have."""
    found = getattr(module, attr, None)
    if isinstance(found, App):
        return found
    if not hasattr(module, attr):
        what = f"module {module_name!r} has no attribute {attr!r}"
    else:
        what = f"{module_name}:{attr} is a {type(found).__name__}, not an offload.App"
    apps = sorted(name for name, value in vars(module).items() if isinstance(value, App))
    if apps:
        hint = f"its offload.App objects: {', '.join(apps)} (e.g. --app {module_name}:{apps[0]})"
    else:
        hint = f"{module_name!r} defines no offload.App (e.g. jobs = offload.App(...))"
    raise click.BadParameter(f"{what}; {hint}", param_hint="--app")


def store_label(url: str) -> str:
    """The store a URL names, for messages: an SQLite file by its absolute path, other
    stores by their URL without a password."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].partition("?")[0]
        return f"sqlite:///{os.path.abspath(path)}"
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
