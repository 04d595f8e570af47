"""The ``offload`` command."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from ..errors import OffloadError

# command -> module that defines it: a command's module (and what it needs: rich, the web
# stack) is imported only when that command runs, so `offload worker` starts sooner.
COMMANDS = {
    "worker": "worker",
    "enqueue": "jobs",
    "jobs": "jobs",
    "migrate": "jobs",
    "demo": "demo",
    "schedules": "schedules",
    "stats": "stats",
    "serve": "serve",
    "tokens": "tokens",
    "keys": "keys",
    "workers": "workers",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        command: click.Command = getattr(importlib.import_module(f".{COMMANDS[cmd_name]}", __name__), cmd_name)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
def cli(log_level: str) -> None:
    """offload: background jobs with progress you can watch."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    try:
        rc = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OffloadError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)
