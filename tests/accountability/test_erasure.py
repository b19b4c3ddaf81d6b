"""Erasure leaves nothing: after `watchlist erase`, the person's name and photo folder are in no stored byte.

The person is enrolled from a folder named as them, without --image-source,
is seen by a camera (sighting, evidence crop, track, alert), is looked up and
listed, is erased, and the audit log is exported. Then every file the site
keeps (database and its write-ahead log, bus, object store, audit anchor) and
the export are scanned, byte by byte, for the name and the folder's path.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from facetrail.cli.main import cli
from facetrail.storage.sighting_store import SightingStore

from .conftest import T0, walk

NAME = "Zebedee Quartermaine"


def _invoke(site, *args):
    result = CliRunner().invoke(cli, [*args, "-c", str(site.config_path)])
    assert result.exit_code == 0, result.output
    return result


def _stored_files(site, excluded: Path) -> list[Path]:
    return [p for p in site.root.rglob("*") if p.is_file() and excluded not in p.parents]


def test_erasing_a_person_leaves_their_name_and_photo_folder_in_no_stored_byte(site, people, head_patch, detector,
                                                                              embedder, tmp_path):
    root = people(NAME, source="obama.jpg")
    folder = root / NAME
    _invoke(site, "watchlist", "import", str(root), "--legal-basis", "case 2026/17")
    site.analyse(walk(head_patch("obama.jpg"), T0), detector, embedder)
    [entry] = site.watchlist.records()
    assert SightingStore(site.db).search(entry_ids=[entry.entry_id])  # a sighting, its crop, a track and an alert exist
    _invoke(site, "watchlist", "list")
    _invoke(site, "tracks", "--person", NAME)
    _invoke(site, "sightings", "--person", NAME)

    # a free-text reason that names the person: the permanent log keeps only its hash
    _invoke(site, "watchlist", "erase", NAME, "--reason", f"request by {NAME}, DOB 1970-01-01")
    export = tmp_path / "audit-export.jsonl"
    _invoke(site, "audit", "export", "--output", str(export))

    secrets = {NAME, str(folder), str(folder.resolve()), str(root)}
    files = _stored_files(site, excluded=root)
    assert export in files and any(p.name == "facetrail.db" for p in files) and any(p.name == "bus.db" for p in files)
    found = {(str(p.relative_to(site.root)), s) for p in files for s in secrets if s.encode() in p.read_bytes()}
    assert found == set()
