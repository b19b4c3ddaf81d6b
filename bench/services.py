"""The engines scripts/services started (Kafka, PostgreSQL, MinIO), as benchmarks and tests reach them:
var/services/env, written by `make services-up`; a benchmark that needs them says so and skips its figure when they
are absent."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from bench.report import ROOT

SERVICE_ENV = ROOT / "var" / "services" / "env"
SERVICE_SECRETS = ROOT / "var" / "services" / "secrets"


def service_env() -> dict[str, str]:
    """NAME -> value from var/services/env ({} before `make services-up`)."""
    return _pairs(SERVICE_ENV.read_text()) if SERVICE_ENV.is_file() else {}


def _pairs(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


@contextmanager
def scratch_database(database_url: str, prefix: str = "ft_bench") -> Iterator[str]:
    """A new empty PostgreSQL database owned by the app role, next to the deployment's; its URL, dropped afterwards.
    Created as the cluster's superuser (var/services/secrets): the app role may not create databases."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    app = make_url(database_url)
    superuser = app.set(username="postgres", password=_pairs(SERVICE_SECRETS.read_text())["PG_SUPER_PASSWORD"],
                        database="postgres")
    name = f"{prefix}_{secrets.token_hex(4)}"
    engine = create_engine(superuser, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{app.username}"'))
    try:
        yield app.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
