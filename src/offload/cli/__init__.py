"""The ``offload`` command."""

from __future__ import annotations

import logging
import sys

import click

from ..errors import OffloadError
from .demo import demo
from .jobs import enqueue, jobs, migrate
from .schedules import schedules, stats
from .serve import serve
from .tokens import tokens
from .worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
def cli(log_level: str) -> None:
    """offload: background jobs with progress you can watch."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


cli.add_command(worker)
cli.add_command(enqueue)
cli.add_command(jobs)
cli.add_command(migrate)
cli.add_command(demo)
cli.add_command(schedules)
cli.add_command(stats)
cli.add_command(serve)
cli.add_command(tokens)


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
