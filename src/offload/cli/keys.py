"""``offload keys generate``: a new encryption key for tasks with ``encrypt=True``."""

from __future__ import annotations

import time

import click

from ..crypto import KEY_ID, generate_key


@click.group()
def keys() -> None:
    """Encryption keys for tasks with encrypt=True (docs/security.md)."""


@keys.command()
@click.option("--id", "key_id", default=None, help="The key id (default: k and today's date, e.g. k20260101).")
def generate(key_id: str | None) -> None:
    """Print a new random AES-256 key as KEY_ID:BASE64_KEY, the format of
    OFFLOAD_ENCRYPTION_KEYS. Put it first to encrypt with it; keep the old keys after it
    until no job encrypted with them is left."""
    key_id = key_id or time.strftime("k%Y%m%d", time.gmtime())
    if not KEY_ID.fullmatch(key_id):
        raise click.BadParameter("1-64 letters, digits, '_', '-' or '.'", param_hint="--id")
    click.echo(f"{key_id}:{generate_key()}")
