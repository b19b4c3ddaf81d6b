"""Enrolment through `facetrail watchlist import`: accountability record enforced, bad photos refused, changes audited."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facetrail.cli.main import cli


def invoke(site, *args):
    return CliRunner().invoke(cli, [*args, "-c", str(site.config_path)])


@pytest.fixture
def people(tmp_path, photo_path):
    """FOLDER/<Display Name>/<photos>, as the import command expects."""
    root = tmp_path / "people"

    def add(name: str, image: np.ndarray | None = None, source: str | None = None):
        folder = root / name
        folder.mkdir(parents=True)
        if source:
            shutil.copy(photo_path(source), folder / source)
        else:
            cv2.imwrite(str(folder / "photo.jpg"), image)
        return root

    return add


def test_an_enrolment_without_a_legal_basis_is_refused(site, people):
    folder = people("Obama", source="obama.jpg")
    missing = invoke(site, "watchlist", "import", str(folder))
    assert missing.exit_code == 2 and "--legal-basis" in missing.output
    blank = invoke(site, "watchlist", "import", str(folder), "--legal-basis", "  ")
    assert blank.exit_code == 1 and "legal basis" in blank.output
    assert site.watchlist.records() == []


def test_an_expiry_beyond_the_configured_maximum_is_refused(site, people):
    folder = people("Obama", source="obama.jpg")
    result = invoke(site, "watchlist", "import", str(folder), "--legal-basis", "case 1", "--expires-in-days", "91")
    assert result.exit_code == 1 and "exceeds the configured maximum of 90 days" in result.output
    assert "Traceback" not in result.output and site.watchlist.records() == []


def test_an_enrolled_entry_carries_its_full_accountability_record(site, people):
    folder = people("Obama", source="obama.jpg")
    result = invoke(site, "watchlist", "import", str(folder), "--legal-basis", "case 2026/17", "--image-source", "custody photo",
                    "--enrolled-by", "officer-7", "--expires-in-days", "14")
    assert result.exit_code == 0, result.output
    [entry] = site.watchlist.records()
    assert (entry.legal_basis, entry.image_source, entry.enrolled_by) == ("case 2026/17", "custody photo", "officer-7")
    assert abs(entry.expires_at - (entry.created_at + timedelta(days=14))) < timedelta(seconds=5)
    assert abs(entry.created_at - datetime.now(timezone.utc)) < timedelta(minutes=1)
    [record] = [r for r in site.audit.records() if r.action == "watchlist.enrol"]
    assert (record.actor, record.subject, record.details["legal_basis"]) == ("officer-7", entry.entry_id, "case 2026/17")
    assert "Obama" not in str(record.details)  # the permanent log names entries by id only


def test_photos_without_a_face_with_several_faces_too_small_or_too_poor_are_refused(site, people, photo_path):
    obama, biden = cv2.imread(str(photo_path("obama.jpg"))), cv2.imread(str(photo_path("biden.jpg")))
    height = 400
    pair = np.hstack([cv2.resize(i, (int(i.shape[1] * height / i.shape[0]), height)) for i in (obama, biden)])
    people("No Face", np.full((400, 400, 3), 128, np.uint8))
    people("Two Faces", pair)
    people("Too Small", cv2.resize(obama, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA))  # a 52 px face
    # A 69 px face, blurred: found, big enough, but too poor to recognise reliably.
    folder = people("Too Poor", cv2.GaussianBlur(cv2.resize(obama, None, fx=0.26, fy=0.26, interpolation=cv2.INTER_AREA), (0, 0), 2))
    result = invoke(site, "watchlist", "import", str(folder), "--legal-basis", "case 1")
    assert result.exit_code == 1
    assert "not enrolled No Face" in result.output and "no face found" in result.output
    assert "not enrolled Two Faces" in result.output and "faces of similar size" in result.output
    assert "not enrolled Too Small" in result.output and "too small" in result.output
    assert "not enrolled Too Poor" in result.output and "too poor to enrol" in result.output
    assert site.watchlist.records() == [] and list(site.objects.keys()) == []
    assert len([r for r in site.audit.records() if r.action == "watchlist.enrol_refused"]) == 4


def test_remove_and_erase_are_audited_with_the_acting_user(site, people, photo_path, detector, embedder):
    first = site.enrol(photo_path("obama.jpg"), "Obama", detector=detector, embedder=embedder)
    second = site.enrol(photo_path("biden.jpg"), "Biden", detector=detector, embedder=embedder)
    assert invoke(site, "watchlist", "remove", "Obama", "--actor", "officer-7").exit_code == 0
    erased = invoke(site, "watchlist", "erase", second.entry_id, "--actor", "dpo", "--reason", "SAR-2026-3")
    assert erased.exit_code == 0, erased.output
    assert site.watchlist.records() == [] and list(site.objects.keys()) == []
    records = [(r.actor, r.action, r.subject, r.details.get("reason")) for r in site.audit.records()[-2:]]
    assert records == [("officer-7", "watchlist.remove", first.entry_id, None), ("dpo", "watchlist.erase", second.entry_id, "SAR-2026-3")]


def test_an_unknown_watchlist_is_refused_when_lists_are_configured(site, people):
    site.config_path.write_text(site.config_path.read_text() + "watchlist: {lists: {wanted: {roles: [operator]}}}\n")
    result = invoke(site, "watchlist", "import", str(people("Obama", source="obama.jpg")), "--legal-basis", "case 1",
                    "--watchlist", "other")
    assert result.exit_code == 1 and "not a configured watch-list" in result.output


def test_list_permissions_allow_only_the_named_roles():
    from facetrail.config import WatchlistConfig

    config = WatchlistConfig.model_validate({"lists": {"wanted": {"roles": ["operator", "auditor"]}}})
    assert config.allows("wanted", "operator") and config.allows("wanted", "admin")
    assert not config.allows("wanted", "enroller") and not config.allows("missing", "operator")


def _group_photo(obama: np.ndarray, biden: np.ndarray) -> np.ndarray:
    canvas = np.zeros((1200, 2000, 3), np.uint8)
    canvas[: obama.shape[0], : obama.shape[1]] = obama
    canvas[:1200, 1000:1970] = biden[:1200]
    return canvas


def test_a_group_photo_is_refused_naming_the_option_and_enrolled_with_it(site, people, photo_path):
    group = _group_photo(cv2.imread(str(photo_path("obama.jpg"))), cv2.imread(str(photo_path("biden.jpg"))))
    folder = people("Joe Biden", image=group)
    refused = invoke(site, "watchlist", "import", str(folder), "--legal-basis", "case 3", "--image-source", "news")
    assert refused.exit_code == 1 and "--face central" in refused.output and site.watchlist.records() == []
    done = invoke(site, "watchlist", "import", str(folder), "--legal-basis", "case 3", "--image-source", "news",
                  "--face", "largest")
    assert done.exit_code == 0, done.output
    enrolled = [r for r in site.audit.records() if r.action == "watchlist.enrol"][-1]
    assert enrolled.details["face"] == "largest"


def test_only_the_enrolled_face_and_its_margin_are_stored_not_the_whole_photo(site, people, photo_path):
    group = _group_photo(cv2.imread(str(photo_path("obama.jpg"))), cv2.imread(str(photo_path("biden.jpg"))))
    folder = people("Joe Biden", image=group)
    invoke(site, "watchlist", "import", str(folder), "--legal-basis", "case 3", "--image-source", "news",
           "--face", "largest")
    [key] = site.watchlist.photo_keys(site.watchlist.records()[0].entry_id)
    stored = cv2.imdecode(np.frombuffer(site.objects.get(key), np.uint8), cv2.IMREAD_COLOR)
    from facetrail.analytics.detector import HogDetector

    assert len(HogDetector(detect_width=640).detect(stored)) == 1  # Obama, beside him, was not kept
