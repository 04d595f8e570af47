"""``offload tokens create|list|revoke``: API tokens."""

from __future__ import annotations

import os
import sys

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import AuthenticationFailed
from ..records import iso
from ..service import TokenService
from .loading import load_app, store_label

app_option = click.option("--app", "app_spec", help="module:attribute of your offload.App (or OFFLOAD_APP).")
url_option = click.option("--url", help="Store URL (or OFFLOAD_URL).")


@click.group()
def tokens() -> None:
    """Create, list and revoke API tokens."""


@tokens.command()
@click.option("--user", required=True, help="The user the token acts as (the owner of the jobs it submits).")
@click.option("--admin", is_flag=True, help="Sees and acts on every job; may pause queues.")
@app_option
@url_option
def create(user: str, admin: bool, app_spec: str | None, url: str | None) -> None:
    """Create a token in the store of the app (--app) that serves the API; a server
    accepts only tokens of its own store. The secret is printed once, as the last line."""
    app = load_app(app_spec, url)
    record, secret = TokenService(app).create(user, admin=admin)
    store = store_label(app.settings.url)
    if not (app_spec or url or os.environ.get("OFFLOAD_APP") or os.environ.get("OFFLOAD_URL")):
        click.echo(
            f"note: no --app or --url (nor OFFLOAD_APP, OFFLOAD_URL): the token is in the default store, {store}; "
            "a server on another store refuses it, so give the server's --app",
            err=True,
        )
    click.echo(f"token {record.id} for user {record.user!r}{' (admin)' if admin else ''} in {store}; keep the secret:")
    click.echo(secret)


@tokens.command("list")
@app_option
@url_option
def list_tokens(app_spec: str | None, url: str | None) -> None:
    """Every token (secrets are never shown again)."""
    table = Table("id", "user", "admin", "created", "revoked")
    for t in TokenService(load_app(app_spec, url)).all():
        table.add_row(t.id, Text(t.user), "yes" if t.admin else "", iso(t.created_at) or "", iso(t.revoked_at) or "")
    Console().print(table)


@tokens.command()
@app_option
@url_option
def check(app_spec: str | None, url: str | None) -> None:
    """Read a secret from stdin (so that it stays out of the process list) and say whose
    token it is; exit status 1 when the store does not know it or it was revoked."""
    secret = sys.stdin.readline().strip()
    app = load_app(app_spec, url)
    try:
        principal = TokenService(app).authenticate(secret)
    except AuthenticationFailed as exc:
        raise click.ClickException(f"not a valid token in {store_label(app.settings.url)}: {exc}") from None
    click.echo(f"token {principal.token_id} for user {principal.user!r}{' (admin)' if principal.admin else ''}")


@tokens.command()
@click.argument("token_id")
@app_option
@url_option
def revoke(token_id: str, app_spec: str | None, url: str | None) -> None:
    """Revoke a token: it is refused from the next request on."""
    if not TokenService(load_app(app_spec, url)).revoke(token_id):
        raise click.ClickException(f"no active token with id {token_id!r}")
    click.echo(f"revoked {token_id}")
