"""`facetrail calibrate`: set the matching threshold for a stated false-alert rate on a cohort (facetrail.calibration)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
from tqdm import tqdm

from facetrail.audit.log import os_user
from facetrail.calibration import Calibration, CalibrationError, lookalikes, read_cohort, sample, truth_by_name
from facetrail.cohort_walks import COMPOUND, WALK_CONDITIONS
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.matching import load_matcher
from facetrail.watchlist import OperatingPoint


@click.command("calibrate")
@CONFIG_OPTION
@click.option("--cohort", "cohort_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="labelled face photos (labels.csv file,identity, or <identity>/<photos>) of people not on the list")
@click.option("--target-fpir", type=click.FloatRange(0.0001, 0.5), default=0.003, show_default=True,
              help="share of passes of people not on the list that may raise an alert")
@click.option("--passes", type=click.IntRange(10, 100_000), default=300, show_default=True,
              help="cohort photos walked as passes (more: a steadier threshold, a longer run)")
@click.option("--searches", type=click.IntRange(10, 1_000_000), default=3000, show_default=True,
              help="cohort photos searched once each")
@click.option("--dry-run", is_flag=True, help="report the operating point without setting it")
def calibrate(config_path: str, cohort_dir: Path, target_fpir: float, passes: int, searches: int, dry_run: bool) -> None:
    """Set the threshold that gives TARGET-FPIR false alerts per pass, measured on a cohort off the watch-list."""
    stores = Stores.load(config_path)
    photos = read_cohort(cohort_dir)
    models = stores.face_models
    for note in models.notes:
        click.echo(f"note: {note}", err=True)
    space = models.embedder.space
    loaded = load_matcher(stores.watchlist, space, stores.config.analysis.matching)
    if not len(loaded.matcher):
        raise CalibrationError(f"no watch-list entry has {space.model} templates: enrol people (or reembed) first")
    names = {r.display_name: r.entry_id for r in stores.watchlist.records() if not r.expired()}
    truth_of = truth_by_name(names)
    ratio = loaded.rule.max_distance_ratio
    work = Calibration(models.detector, models.embedder, loaded.matcher, stores.config.analysis)
    searched = sample(photos, searches, seed=1)
    mated_walked = sample([p for p in photos if truth_of(p.identity) is not None], passes // 3, seed=3)
    others = sample([p for p in photos if truth_of(p.identity) is None], passes, seed=2)
    total = len(searched) + passes + len(mated_walked) * len(WALK_CONDITIONS)
    with tqdm(total=total, unit="photo", desc="calibrating", disable=None, leave=False) as bar:
        found = work.search(searched, truth_of, lambda: bar.update(1))
        # the non-mated passes: every listed person's nearest look-alike in the cohort first, then others at random
        alike = lookalikes(found)[:passes]
        taken = {p.path for p in alike}
        non_mated = alike + [p for p in others if p.path not in taken][: passes - len(alike)]
        walks = work.walk(non_mated, truth_of, progress=lambda: bar.update(1), condition=COMPOUND)
        for condition in WALK_CONDITIONS:
            walks += work.walk(mated_walked, truth_of, seed=11, progress=lambda: bar.update(1), condition=condition)
    point = work.operating_point(found, walks, target_fpir, ratio, lookalike_passes=len(alike))
    _report(space.model, target_fpir, point)
    if dry_run:
        click.echo("dry run: the operating point was not set")
        return
    stamp = OperatingPoint(
        model=space.model, threshold=point.rule.threshold, max_distance_ratio=ratio, target_fpir=target_fpir,
        calibrated_at=datetime.now(timezone.utc), calibrated_by=os_user(), watchlist_version=loaded.version,
        per_search_fpir=point.per_search_fpir, per_pass_fpir=point.per_pass_fpir,
        expected_fnir=None if point.mated_passes == 0 else point.per_pass_fnir,
        cohort_searches=point.searches, mated_searches=point.mated_searches)
    stores.watchlist.save_operating_point(stamp)
    # the audit record names the cohort by its folder's name and sizes only: its photos show people, none of whom
    # is on the list unless mated, and the figures are all an auditor needs
    stores.audit.record(stamp.calibrated_by, "matching.calibrate", space.model, {
        "threshold": stamp.threshold, "max_distance_ratio": ratio, "target_fpir": target_fpir,
        "per_search_fpir": point.per_search_fpir, "per_pass_fpir": point.per_pass_fpir,
        "expected_fnir": stamp.expected_fnir, "cohort": cohort_dir.name, "searches": point.searches,
        "mated_searches": point.mated_searches, "passes": point.passes, "mated_passes": point.mated_passes,
        "watchlist_version": loaded.version})
    click.echo(f"set: {space.model} matches at distance <= {point.rule.threshold:.3f} (ratio {ratio:.2f}); "
               "running workers pick it up within seconds")


def _rate(value: float) -> str:
    return "n/a (no such cohort photos)" if value != value else f"{value:.2%}"


def _report(model: str, target: float, point) -> None:
    click.echo(f"model: {model}; target FPIR per pass {target:.2%}, on {point.condition} camera conditions")
    click.echo(f"  threshold {point.rule.threshold:.3f} (per-search FPIR alone would give {point.search_threshold:.3f})")
    click.echo(f"  per pass:   FPIR {_rate(point.per_pass_fpir)} of {point.passes} cohort passes "
               f"({point.lookalike_passes} of them listed people's nearest look-alikes); "
               f"FNIR {_rate(point.per_pass_fnir)} of {point.mated_passes} passes of listed people")
    for condition, (found, walked) in (point.found or {}).items():
        click.echo(f"  listed passes found at this threshold, {condition}: {found} of {walked}")
    click.echo(f"  per search: FPIR {_rate(point.per_search_fpir)} of {point.searches} searches; "
               f"FNIR {_rate(point.per_search_fnir)} of {point.mated_searches} searches of listed people")
    if point.passes < 1 / target:
        click.echo(f"  warning: {point.passes} cohort passes cannot measure a rate of {target:.2%} (one false alert "
                   f"is {1 / max(1, point.passes):.2%}); use --passes {int(3 / target)} or more for a steady threshold")
