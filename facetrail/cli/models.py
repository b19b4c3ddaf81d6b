"""`facetrail models list|fetch|import|verify`: the pinned model catalogue on this machine."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from facetrail.analytics.face_models import locator
from facetrail.cli.context import CONFIG_OPTION
from facetrail.config import Config, ModelsConfig, load_config
from facetrail.models.catalogue import CATALOGUE, DEFAULT_MODELS, UnknownModel, spec
from facetrail.models.fetch import ModelFetchError, fetch, import_file
from facetrail.models.locate import ModelLocator, is_intact


def _models_config(config_path: str) -> ModelsConfig:
    """The config's model settings when the config file exists; the defaults otherwise (models need no site)."""
    return (load_config(config_path) if Path(config_path).is_file() else Config()).models


def _locator(config_path: str) -> ModelLocator:
    return locator(_models_config(config_path))


@click.group("models")
def models_group() -> None:
    """Model files: the catalogue, where they are found, fetching them from their publishers."""


@models_group.command("list")
@CONFIG_OPTION
def list_models(config_path: str) -> None:
    """Show the catalogue and where each model is found on this machine."""
    found_by = _locator(config_path)
    click.echo(f"{'MODEL':44} {'KIND':9} {'SIZE':>8} {'LICENCE':11} FOUND")
    for model in CATALOGUE:
        found = found_by.find(model)
        where = f"{found.where}: {found.paths[0].parent}" if found else "not found (facetrail models fetch " + model.name + ")"
        click.echo(f"{model.name:44} {model.kind:9} {model.size / 1e6:7.1f}M {model.licence:11} {where}")
    click.echo(f"cache: {found_by.cache}")


@models_group.command("fetch")
@click.argument("names", nargs=-1)
@CONFIG_OPTION
def fetch_models(names: tuple[str, ...], config_path: str) -> None:
    """Download NAMES (default: the default detector and embedder) from their publishers into the cache."""
    settings = _models_config(config_path)
    found_by = locator(settings)
    try:
        chosen = [spec(name) for name in names] if names else list(DEFAULT_MODELS)
    except UnknownModel as exc:
        raise click.UsageError(str(exc)) from None
    for model in chosen:
        done = fetch(model, found_by, mirror=settings.mirror)
        state = "downloaded" if done.downloaded else "already in the cache"
        click.echo(f"{model.name}: {state}, checksums verified ({done.model.paths[0].parent})")


@models_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@CONFIG_OPTION
def import_models(files: tuple[Path, ...], config_path: str) -> None:
    """Copy model FILES (carried to an air-gapped site) into the cache; each must match a pinned checksum."""
    found_by = _locator(config_path)
    for path in files:
        done = import_file(path, found_by)
        click.echo(f"{path}: imported as {done.model}/{done.file_name}")


@models_group.command("verify")
@CONFIG_OPTION
def verify_models(config_path: str) -> None:
    """Check the checksum of every model file in the cache; exit 1 naming any that differs."""
    found_by = _locator(config_path)
    broken = checked = 0
    for model in CATALOGUE:
        folder = found_by.cache_folder(model)
        for file in model.files:
            path = folder / file.file_name
            if not path.exists():
                continue
            checked += 1
            if is_intact(path, file):
                click.echo(f"ok       {path}")
            else:
                broken += 1
                click.echo(f"CHANGED  {path}: size or SHA-256 differs from the catalogue; delete it and fetch again")
        found = found_by.find(model)
        if found is not None and found.where != "cache":
            click.echo(f"ok       {model.name} in {found.where} ({found.paths[0].parent})")
    if not checked:
        click.echo(f"no model file in the cache ({found_by.cache})")
    if broken:
        sys.exit(1)
