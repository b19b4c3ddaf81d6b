"""`facetrail api`: the HTTP API and dashboard, on the loopback interface only."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import click

from facetrail.bus.select import ensure_topics_of
from facetrail.cli.context import CONFIG_OPTION
from facetrail.cli.errors import UsageProblem
from facetrail.config import load_config


def _loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise UsageProblem(f"--host {host}: facetrail serves on the loopback interface only; "
                       "put a TLS reverse proxy in front of it to reach it from elsewhere")


@click.command("api")
@CONFIG_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="loopback address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--token-hours", type=click.FloatRange(0.05, 24), default=8.0, show_default=True,
              help="how long a login lasts")
def api(config_path: str, host: str, port: int, token_hours: float) -> None:
    """Serve the API (/api/v1, OpenAPI at /docs), the dashboard (/) and Prometheus metrics (/metrics)."""
    import uvicorn

    from facetrail.api.app import create_app
    from facetrail.api.context import ApiContext

    host = _loopback(host)
    stores = ApiContext(load_config(config_path), config_path, token_ttl=timedelta(hours=token_hours))
    ensure_topics_of(stores.config)  # the live alert feed and the lag metric consume from the bus
    app = create_app(stores.config, context=stores)
    if not app.state.accounts.users():
        click.echo("warning: no users yet; create one with: facetrail users add NAME --role admin", err=True)
    click.echo(f"facetrail API on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    # log_config=None keeps facetrail's JSON log handler; access lines come from the app, without query strings.
    # Forwarded headers only from the configured proxies: uvicorn would otherwise believe any local process.
    proxies = stores.config.api.trusted_proxies
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=3,
                proxy_headers=bool(proxies), forwarded_allow_ips=list(proxies))
