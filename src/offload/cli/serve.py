"""``offload serve``: the HTTP API (and, with --workers, an in-process worker)."""

from __future__ import annotations

import logging

import click

from .loading import load_app

log = logging.getLogger(__name__)


@click.command()
@click.option("--app", "app_spec", help="module:attribute of your offload.App (or OFFLOAD_APP). Required.")
@click.option("--url", help="Store URL (or OFFLOAD_URL); must match the app's.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes it.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=0,
    show_default=True,
    type=click.IntRange(0, 10_000),
    help="Slots of an in-process worker (0: run `offload worker` separately).",
)
@click.option("--no-auth", is_flag=True, help="DEV ONLY: no tokens, every caller is an admin.")
@click.option(
    "--poll-rate", type=float, default=None, help="Requests per second per token before 429 (default 20; 0: unlimited)."
)
@click.option("--poll-burst", type=float, default=None, help="Requests a token may make at once (default 40).")
@click.option(
    "--header-timeout", type=float, default=None, help="Seconds to send a complete request head (default 10; 0: none)."
)
@click.option("--idle-timeout", type=float, default=None, help="Seconds a keep-alive connection may idle (default 5).")
@click.option(
    "--max-connections",
    type=click.IntRange(0),
    default=None,
    help="Connections open at once (default 1000; 0: no cap).",
)
@click.option(
    "--root-path",
    default="",
    help="The path prefix a reverse proxy serves offload under (e.g. /jobs); links and cookies follow it.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxy",
    default=None,
    help="Addresses of reverse proxies (comma-separated, '*' for any) whose X-Forwarded-Proto/-For are honoured.",
)
def serve(
    app_spec: str | None,
    url: str | None,
    host: str,
    port: int,
    workers: int,
    no_auth: bool,
    poll_rate: float | None,
    poll_burst: float | None,
    header_timeout: float | None,
    idle_timeout: float | None,
    max_connections: int | None,
    root_path: str,
    trusted_proxy: str | None,
) -> None:
    """Serve the HTTP API (/api/*, /metrics, live events over SSE and WebSocket) and
    the dashboard at /."""
    import os

    import uvicorn

    from ..web import WebConfig, create_app
    from ..web.connections import ConnectionLimits, protocol_class

    if not (app_spec or os.environ.get("OFFLOAD_APP")):
        raise click.UsageError("give --app module:attribute (or set OFFLOAD_APP), e.g. --app offload.demo:app")
    app = load_app(app_spec, url)
    config = (
        WebConfig()
        .with_env()
        .override(
            poll_rate=poll_rate,
            poll_burst=poll_burst,
            workers=workers or None,
            header_timeout_s=header_timeout,
            idle_timeout_s=idle_timeout,
            max_connections=max_connections,
        )
    )
    if no_auth:
        config = config.override(auth=False)
        click.secho("WARNING: --no-auth: the API has NO authentication; every caller is an admin.", fg="red", err=True)
    app.backend  # migrate before the first request  # noqa: B018
    web = create_app(app, config)
    uvicorn.run(
        web,
        host=host,
        port=port,
        log_level=logging.getLevelName(logging.getLogger().level).lower(),
        access_log=False,
        timeout_graceful_shutdown=3,
        ws="websockets-sansio",
        http=protocol_class(ConnectionLimits(config.header_timeout_s, config.idle_timeout_s, config.max_connections)),
        root_path=root_path.rstrip("/"),
        # X-Forwarded-Proto decides whether the dashboard's cookies are Secure: honoured
        # only from proxies named here, never by default
        proxy_headers=trusted_proxy is not None,
        forwarded_allow_ips=trusted_proxy,
    )
