"""`facetrail watchlist import|list|remove|erase`; every change is audited."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from facetrail.analytics.enrolment import EnrolmentError
from facetrail.audit.log import os_user
from facetrail.cli.context import CONFIG_OPTION, Stores
from facetrail.cli.errors import UsageProblem
from facetrail.accountability.enrolment import EnrolmentRequest, enrol, expiry_within, photos_in, reembed_entry
from facetrail.accountability.erasure import erase_entry
from facetrail.names import UnsafeText, checked_name, checked_text, name_key
from facetrail.storage.watchlist_store import EntryExists

# What an entry records as its image source when none is given: never the folder, whose name is the person's.
DEFAULT_IMAGE_SOURCE = "not given (photos imported from a local folder)"


def _checked(check, value: str | None, field: str) -> str | None:
    try:
        return None if value is None else check(value, field)
    except UnsafeText as exc:
        raise UsageProblem(str(exc)) from None


def _claim(claimed: str | None) -> dict:
    """The name the user says they act for, labelled as a claim: the audit actor is always the OS user."""
    return {} if claimed is None else {"claimed_by": claimed}


def _shown(name: str) -> str:
    """A folder name as it may be printed: escaped when it holds what a terminal would act on."""
    try:
        return checked_name(name, "")
    except UnsafeText:
        return repr(name)


def _refusal_reason(exc: EnrolmentError, person: Path) -> str:
    """Why a person was not enrolled, without their name or their photos' paths (the audit log outlives them)."""
    reason = str(exc).split(": ")[-1]
    for private in (str(person.resolve()), str(person), person.name):
        reason = reason.replace(private, "<photo>")
    return reason


@click.group("watchlist")
def watchlist_group() -> None:
    """Enrol, list and remove watch-list entries."""


@watchlist_group.command("import")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@CONFIG_OPTION
@click.option("--legal-basis", required=True, help="legal basis or case reference justifying these entries")
@click.option("--image-source", default=None, help=f"where the photos came from (default: {DEFAULT_IMAGE_SOURCE!r})")
@click.option("--expires-in-days", type=int, default=30, show_default=True, help="entries expire after this many days")
@click.option("--watchlist", "list_name", default="default", show_default=True, help="watch-list to add the people to")
@click.option("--enrolled-by", default=None,
              help="who you enrol for, recorded as a claim beside the OS user that runs the command (the actor)")
@click.option("--face", "face", type=click.Choice(["central", "largest"]), default=None,
              help="in photos showing several people, enrol the face nearest the centre or the largest one "
                   "(default: refuse photos where another face rivals the main one)")
def import_folder(folder: Path, config_path: str, legal_basis: str, image_source: str | None,
                  expires_in_days: int, list_name: str, enrolled_by: str | None, face: str | None) -> None:
    """Enrol everyone in FOLDER: one subfolder per person, named as the person, holding their photos."""
    legal_basis = _checked(checked_text, legal_basis, "--legal-basis")
    image_source = _checked(checked_text, image_source, "--image-source")
    claimed = _checked(checked_name, enrolled_by, "--enrolled-by")
    if not folder.is_dir():
        raise UsageProblem(f"{folder}: no such folder")
    people = sorted(p for p in folder.iterdir() if p.is_dir())
    if not people:
        raise UsageProblem(f"{folder}: no person subfolders (expected FOLDER/<Display Name>/<photos>)")
    stores = Stores.load(config_path)
    lists = stores.config.watchlist.lists
    if lists and list_name not in lists:
        raise UsageProblem(f"--watchlist {list_name!r} is not a configured watch-list; configured: {', '.join(sorted(lists))}")
    expires_at = expiry_within(expires_in_days, stores.config.watchlist.max_expiry_days)
    models = stores.face_models
    for note in models.notes:
        click.echo(f"note: {note}", err=True)
    detector, embedder = models.detector, models.embedder
    audit, actor = stores.audit, os_user()
    # names compare as the database's unique index does (facetrail.names.name_key), per watch-list
    existing = {name_key(r.display_name) for r in stores.watchlist.records() if r.watchlist == list_name}
    failures = 0
    for person in people:
        if name_key(person.name) in existing:
            click.echo(f"skipped {_shown(person.name)}: already enrolled (remove the entry first to re-enrol)", err=True)
            continue
        try:
            request = EnrolmentRequest(
                display_name=checked_name(person.name, "folder name"), photos=photos_in(person), legal_basis=legal_basis,
                image_source=image_source or DEFAULT_IMAGE_SOURCE, enrolled_by=actor, expires_at=expires_at,
                watchlist=list_name, face=face or "main",
            )
            done = enrol(request, detector, embedder, stores.watchlist, stores.objects)
        except EntryExists:  # enrolled by someone else while this import ran
            click.echo(f"skipped {_shown(person.name)}: already enrolled (remove the entry first to re-enrol)", err=True)
            continue
        except (EnrolmentError, UnsafeText) as exc:
            failures += 1
            # Refusals are audited too (without the name: the person was never enrolled).
            reason = "the folder name holds control characters or markup" if isinstance(exc, UnsafeText) \
                else _refusal_reason(exc, person)
            audit.record(actor, "watchlist.enrol_refused", "", {"watchlist": list_name, "reason": reason, **_claim(claimed)})
            click.echo(f"not enrolled {_shown(person.name)}: {exc}", err=True)
            continue
        record = done.record
        # By entry id only: free text that may name the person (the image source) is kept as a hash, as review notes are.
        audit.record(actor, "watchlist.enrol", record.entry_id, {
            "watchlist": record.watchlist, "legal_basis": record.legal_basis,
            "image_source_sha256": hashlib.sha256(record.image_source.encode()).hexdigest(),
            "photos": done.photos, "expires_at": record.expires_at, "watchlist_version": stores.watchlist.version(),
            "model": done.model, "face": face or "main", **_claim(claimed),
        })
        click.echo(f"enrolled {done.record.display_name} ({done.photos} photo(s), expires {done.record.expires_at:%Y-%m-%d})")
    if failures:
        sys.exit(1)


def _matching_in_force(stores: Stores) -> dict:
    """The embedding model the config resolves to here and the rule its matcher runs (no model is loaded)."""
    from facetrail.matching import matching_in_force

    force = matching_in_force(stores.config, stores.watchlist)
    rule, point = force.rule, force.operating_point
    return {"model": force.model, "threshold": rule.threshold, "max_distance_ratio": rule.max_distance_ratio,
            "source": rule.source, "operating_point": None if point is None else {
                "target_fpir": point.target_fpir, "per_search_fpir": point.per_search_fpir,
                "per_pass_fpir": point.per_pass_fpir, "expected_fnir": point.expected_fnir,
                "cohort_searches": point.cohort_searches, "calibrated_at": point.calibrated_at.isoformat(),
                "calibrated_by": point.calibrated_by}}


@watchlist_group.command("list")
@CONFIG_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def list_entries(config_path: str, fmt: str) -> None:
    """Show the entries (never their embeddings) and the matching rule in force; the look is audited."""
    stores = Stores.load(config_path)
    records = stores.watchlist.records()
    stores.audit.record(os_user(), "watchlist.read", "", {"via": "cli", "format": fmt, "returned": len(records)})
    templates: dict[str, dict[str, int]] = {}
    for count in stores.watchlist.template_counts():
        templates.setdefault(count.entry_id, {})[count.model] = count.templates
    matching = _matching_in_force(stores)
    if fmt == "json":
        click.echo(json.dumps({"matching": matching, "entries": [
            {"entry_id": r.entry_id, "display_name": r.display_name, "watchlist": r.watchlist,
             "legal_basis": r.legal_basis, "image_source": r.image_source, "enrolled_by": r.enrolled_by,
             "created_at": r.created_at.isoformat(), "expires_at": r.expires_at.isoformat(),
             "templates": templates.get(r.entry_id, {})} for r in records]}, indent=2))
        return
    point = matching["operating_point"]
    calibrated = "" if point is None else \
        f"; calibrated FPIR per search {point['per_search_fpir']:.2%}" + \
        (f", per pass {point['per_pass_fpir']:.2%}" if point["per_pass_fpir"] is not None else "") + \
        (f", expected FNIR {point['expected_fnir']:.1%}" if point["expected_fnir"] is not None else "")
    click.echo(f"matching: {matching['model']}, threshold {matching['threshold']:.3f}, ratio "
               f"{matching['max_distance_ratio']:.2f} ({matching['source']}){calibrated}")
    if not records:
        click.echo("the watch-list is empty")
        return
    click.echo(f"{'NAME':24} {'ENTRY ID':32} {'LIST':12} {'ENROLLED BY':14} {'EXPIRES':10} {'TEMPLATES':9} LEGAL BASIS")
    for r in records:
        held = templates.get(r.entry_id, {}).get(matching["model"], 0)
        click.echo(f"{r.display_name[:24]:24} {r.entry_id:32} {r.watchlist[:12]:12} {r.enrolled_by[:14]:14} "
                   f"{r.expires_at:%Y-%m-%d} {held if held else 'none':9} {r.legal_basis}")


@watchlist_group.command("reembed")
@CONFIG_OPTION
@click.option("--actor", default=None,
              help="who you act for, recorded as a claim beside the OS user that runs the command (the actor)")
def reembed(config_path: str, actor: str | None) -> None:
    """Make every entry's templates with the embedding model in use, from the stored enrolment photos."""
    claimed = _checked(checked_name, actor, "--actor")
    stores = Stores.load(config_path)
    models = stores.face_models
    for note in models.notes:
        click.echo(f"note: {note}", err=True)
    model = models.embedder.space.model
    records = [r for r in stores.watchlist.records() if not r.expired()]
    failed = partial = 0
    with tqdm(records, unit="entry", desc=f"re-embedding with {model}", disable=None, leave=False) as bar:
        for record in bar:
            done = reembed_entry(record.entry_id, models.detector, models.embedder, stores.watchlist, stores.objects)
            if done.failures:
                failed += done.templates == 0
                partial += done.templates > 0
                # the display name stays on screen; the audit record names the entry by id only
                tqdm.write(f"{'not re-embedded' if done.templates == 0 else 'partly re-embedded'} "
                           f"{record.display_name} ({record.entry_id}): {'; '.join(done.failures)}", file=sys.stderr)
    stores.audit.record(os_user(), "watchlist.reembed", model, {
        "entries": len(records), "failed": failed, "partial": partial,
        "watchlist_version": stores.watchlist.version(), **_claim(claimed)})
    click.echo(f"re-embedded {len(records) - failed} of {len(records)} entr{'y' if len(records) == 1 else 'ies'} "
               f"with {model}" + (f"; {failed} failed, {partial} partly (listed above)" if failed or partial else ""))
    if failed:
        sys.exit(1)


def _sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def _erase(person: str, config_path: str, claimed: str | None, action: str, reason: str | None) -> None:
    claimed, reason = _checked(checked_name, claimed, "--actor"), _checked(checked_text, reason, "--reason")
    stores = Stores.load(config_path)
    matches = [r for r in stores.watchlist.records() if person in (r.entry_id, r.display_name)]
    if not matches:
        raise UsageProblem(f"no watch-list entry named or with id {person!r}")
    if len(matches) > 1:
        raise UsageProblem(f"{len(matches)} entries are named {person!r}; give the entry id")
    record = matches[0]
    report = erase_entry(record.entry_id, stores.db, stores.objects, stores.bus,
                         bus_keeps_for=stores.config.retention.bus_keeps_for)
    # The audit record names the entry id, never the person: it outlives the erasure.
    stores.audit.record(os_user(), action, record.entry_id, {
        # free text may name the person (the log outlives the erasure): kept as a hash, as review notes are
        "watchlist": record.watchlist, "reason_sha256": _sha256(reason), "sightings_deleted": report.sightings_deleted,
        "tracks_deleted": report.tracks_deleted, "objects_deleted": report.objects_deleted,
        "bus_messages_deleted": report.bus_messages_deleted, "watchlist_version": stores.watchlist.version(),
        "deliveries_cancelled": report.deliveries_cancelled, **_claim(claimed),
    })
    click.echo(f"{'erased' if action == 'watchlist.erase' else 'removed'} {record.display_name}: entry, embeddings, "
               f"sightings, tracks, reviews and {report.objects_deleted} stored image(s) erased")


ACTOR_OPTION = click.option("--actor", default=None,
                            help="who you act for, recorded as a claim beside the OS user that runs the command (the actor)")


@watchlist_group.command("remove")
@click.argument("person")
@CONFIG_OPTION
@ACTOR_OPTION
def remove_entry(person: str, config_path: str, actor: str | None) -> None:
    """Remove PERSON (display name or entry id) and erase everything derived from the entry."""
    _erase(person, config_path, actor, "watchlist.remove", None)


@watchlist_group.command("erase")
@click.argument("person")
@CONFIG_OPTION
@ACTOR_OPTION
@click.option("--reason", default="erasure request", show_default=True, help="why (e.g. a data-subject request reference)")
def erase_person(person: str, config_path: str, actor: str | None, reason: str) -> None:
    """Erase PERSON on request (data-subject erasure): as remove, audited as an erasure."""
    _erase(person, config_path, actor, "watchlist.erase", reason)
