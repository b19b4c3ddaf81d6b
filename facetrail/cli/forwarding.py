"""`facetrail forwarding status|retry|serve`: the webhook queues, their dead letters, and forwarding alone."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from facetrail.audit.log import os_user
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem


@click.group("forwarding")
def forwarding_group() -> None:
    """Alerts, decisions and camera health forwarded to webhooks and MQTT (config: forwarding)."""


def _known_target(stores: Stores, target: str | None) -> None:
    names = [hook.name for hook in stores.config.forwarding.webhooks]
    if target is not None and target not in names:
        raise UsageProblem(f"no webhook named {target!r}; configured: {', '.join(names) or 'none'}")


@forwarding_group.command("status")
@CONFIG_OPTION
@click.option("--dead", is_flag=True, help="also list the dead-lettered deliveries (newest first)")
def status(config_path: str, dead: bool) -> None:
    """Each webhook's queue: pending, delivered, dead-lettered and cancelled deliveries."""
    stores = Stores.load(config_path)
    forwarding = stores.config.forwarding
    if not forwarding.enabled:
        click.echo("forwarding: nothing configured (config: forwarding.webhooks, forwarding.mqtt)")
        return
    counts = {c.target: c for c in stores.forwarding_queue.counts()}
    now = datetime.now(timezone.utc)
    for hook in forwarding.webhooks:
        c = counts.get(hook.name)
        line = (f"webhook {hook.name}: {c.pending if c else 0} pending, {c.delivered if c else 0} delivered, "
                f"{c.dead if c else 0} dead-lettered, {c.cancelled if c else 0} cancelled")
        if c and c.oldest_pending:
            line += f"; oldest pending {int((now - c.oldest_pending).total_seconds())} s old"
        click.echo(line)
    if forwarding.mqtt is not None:
        mqtt = forwarding.mqtt
        click.echo(f"mqtt {mqtt.host}:{mqtt.port}: topics {mqtt.topic_prefix}/{stores.config.site}/...")
    if dead:
        for delivery, error in stores.forwarding_queue.dead():
            click.echo(f"dead {delivery.target} {delivery.message_id} after {delivery.attempts} attempt(s): {error}")


@forwarding_group.command("retry")
@CONFIG_OPTION
@click.option("--target", default=None, help="only this webhook's dead letters (default: every webhook's)")
def retry(config_path: str, target: str | None) -> None:
    """Put dead-lettered deliveries back in their queue, due now (a running forwarder sends them)."""
    stores = Stores.load(config_path)
    _known_target(stores, target)
    revived = stores.forwarding_queue.retry_dead(target)
    for delivery in revived:
        stores.audit.record(os_user(), "forwarding.retry", delivery.target,
                            {"event_id": delivery.event_id, "kind": delivery.kind, "message_id": delivery.message_id})
    click.echo(f"{len(revived)} dead-lettered deliver{'y' if len(revived) == 1 else 'ies'} queued again")


@forwarding_group.command("serve")
@CONFIG_OPTION
def serve(config_path: str) -> None:
    """Forward until stopped, without the trajectory service (`facetrail run` and `trajectory` forward too)."""
    from facetrail.runtime import serve_forwarding

    stores = Stores.load(config_path)
    if not stores.config.forwarding.enabled:
        raise UsageProblem("nothing to forward: the config names no forwarding target (forwarding.webhooks, forwarding.mqtt)")
    serve_forwarding(stores)
