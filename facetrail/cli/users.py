"""`facetrail users add|list|remove|disable|enable`: the people who may use the API. There are no default users."""

from __future__ import annotations

import sys

import click

from facetrail.audit.log import os_user
from facetrail.auth.accounts import AccountError
from facetrail.auth.roles import ROLES
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UsageProblem("--password-stdin: nothing on standard input")
        return line.rstrip("\r\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@click.group("users")
def users_group() -> None:
    """Create, list and remove API users (roles: operator, enroller, auditor, admin)."""


@users_group.command("add")
@click.argument("username")
@CONFIG_OPTION
@click.option("--role", required=True, type=click.Choice(ROLES), help="what the user may do")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
def add_user(username: str, config_path: str, role: str, password_stdin: bool) -> None:
    """Create USERNAME with --role; the password is prompted for (or read with --password-stdin)."""
    stores = Stores.load(config_path)
    password = _read_password(password_stdin)
    try:
        user = stores.accounts.create_user(username, role, password)
    except AccountError as exc:
        raise UsageProblem(str(exc)) from None
    stores.audit.record(os_user(), "user.add", user.username, {"role": user.role})
    click.echo(f"created {user.username} ({user.role})")


@users_group.command("list")
@CONFIG_OPTION
def list_users(config_path: str) -> None:
    """Show users and their roles (never password hashes)."""
    users = Stores.load(config_path).accounts.users()
    if not users:
        click.echo("no users; create one with: facetrail users add NAME --role admin")
        return
    click.echo(f"{'USER':24} {'ROLE':10} CREATED")
    for user in users:
        click.echo(f"{user.username:24} {user.role:10} {user.created_at:%Y-%m-%d %H:%M}")


@users_group.command("remove")
@click.argument("username")
@CONFIG_OPTION
def remove_user(username: str, config_path: str) -> None:
    """Remove USERNAME; their tokens stop working at once."""
    stores = Stores.load(config_path)
    try:
        removed = stores.accounts.remove_user(username)
    except AccountError as exc:
        raise UsageProblem(str(exc)) from None
    if not removed:
        raise UsageProblem(f"no user named {username!r}")
    stores.audit.record(os_user(), "user.remove", username)
    click.echo(f"removed {username}")


def _set_disabled(username: str, config_path: str, disabled: bool) -> None:
    stores = Stores.load(config_path)
    try:
        found = stores.accounts.set_disabled(username, disabled)
    except AccountError as exc:
        raise UsageProblem(str(exc)) from None
    if not found:
        raise UsageProblem(f"no user named {username!r}")
    stores.audit.record(os_user(), "user.disable" if disabled else "user.enable", username, {"via": "cli"})
    click.echo(f"{'disabled' if disabled else 'enabled'} {username}")


@users_group.command("disable")
@click.argument("username")
@CONFIG_OPTION
def disable_user(username: str, config_path: str) -> None:
    """Disable USERNAME: their tokens stop working at once (never the last enabled admin)."""
    _set_disabled(username, config_path, True)


@users_group.command("enable")
@click.argument("username")
@CONFIG_OPTION
def enable_user(username: str, config_path: str) -> None:
    """Enable USERNAME again (for instance an admin locked out of the console)."""
    _set_disabled(username, config_path, False)
