"""Enrolment through `facetrail watchlist import`: accountability record enforced, bad photos refused, changes audited.

Switching the embedding model: `facetrail watchlist reembed` makes every entry's templates anew from its stored
photos, audited; an entry whose photos fail is reported, never silently dropped.
"""

from __future__ import annotations

import hashlib

from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facetrail.analytics.face_models import build_face_models
from facetrail.audit.log import os_user
from facetrail.cli.main import cli
from facetrail.config import load_config
from tests.accountability.conftest import T0, walk

RETAIL = "face-reidentification-retail-0095-fp16"


def invoke(site, *args):
    return CliRunner().invoke(cli, [*args, "-c", str(site.config_path)])


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
    assert (entry.legal_basis, entry.image_source, entry.enrolled_by) == ("case 2026/17", "custody photo", os_user())
    assert abs(entry.expires_at - (entry.created_at + timedelta(days=14))) < timedelta(seconds=5)
    assert abs(entry.created_at - datetime.now(timezone.utc)) < timedelta(minutes=1)
    [record] = [r for r in site.audit.records() if r.action == "watchlist.enrol"]
    assert (record.actor, record.subject, record.details["legal_basis"]) == (os_user(), entry.entry_id, "case 2026/17")
    assert record.details["claimed_by"] == "officer-7"
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
    records = [(r.actor, r.action, r.subject, r.details.get("reason_sha256"), r.details.get("claimed_by"))
               for r in site.audit.records()[-2:]]
    assert records == [(os_user(), "watchlist.remove", first.entry_id, None, "officer-7"),
                       (os_user(), "watchlist.erase", second.entry_id, hashlib.sha256(b"SAR-2026-3").hexdigest(), "dpo")]
    assert "SAR-2026-3" not in str([r.details for r in site.audit.records()])


def test_the_audit_actor_is_the_os_user_whatever_name_is_claimed(site, people):
    result = invoke(site, "watchlist", "import", str(people("Obama", source="obama.jpg")), "--legal-basis", "case 1",
                    "--enrolled-by", "chief-constable")
    assert result.exit_code == 0, result.output
    [record] = [r for r in site.audit.records() if r.action == "watchlist.enrol"]
    assert record.actor == os_user() != "chief-constable" and record.details["claimed_by"] == "chief-constable"


@pytest.mark.parametrize("claimed", ["officer\x1b[2Jroot", "dpo\nseq 99 forged", "<script>alert(1)</script>", "dpo\u202eoot"])
def test_a_claimed_name_with_control_characters_or_markup_is_refused_with_one_message(site, people, claimed):
    folder = people("Obama", source="obama.jpg")
    for args in (["watchlist", "import", str(folder), "--legal-basis", "case 1", "--enrolled-by", claimed],
                 ["watchlist", "erase", "Obama", "--actor", claimed]):
        result = invoke(site, *args)
        assert result.exit_code == 1 and "a name may not hold control characters or markup (<, >, &)" in result.output
        assert "Traceback" not in result.output and repr(claimed) in result.output  # escaped: no terminal acts on it
    assert site.watchlist.records() == [] and site.audit.records() == []


def test_a_person_folder_named_with_markup_or_control_characters_is_not_enrolled(site, people):
    people("Obama", source="obama.jpg")
    folder = people("<img src=x onerror=alert(1)>", source="biden.jpg")
    result = invoke(site, "watchlist", "import", str(folder), "--legal-basis", "case 1")
    assert result.exit_code == 1 and "a name may not hold control characters or markup" in result.output
    assert [r.display_name for r in site.watchlist.records()] == ["Obama"]
    [refused] = [r for r in site.audit.records() if r.action == "watchlist.enrol_refused"]
    assert "img" not in str(refused.details)


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


def _configure(site, embedder: str, models_dir=None) -> None:
    extra = f"models: {{dir: '{models_dir}'}}\n" if models_dir else ""
    site.config_path.write_text(site.config_path.read_text().split("analysis:")[0] +
                                f"analysis: {{detector: {{backend: hog}}, embedder: {{backend: {embedder}}}}}\n" + extra)
    site.config = load_config(site.config_path)


@pytest.fixture
def enrolled_with_dlib(site, tmp_path, photo_path):
    import shutil

    folder = tmp_path / "people" / "Barack Obama"
    folder.mkdir(parents=True)
    shutil.copy(photo_path("obama.jpg"), folder / "obama.jpg")
    _configure(site, "dlib")
    result = invoke(site, "watchlist", "import", str(folder.parent), "--legal-basis", "case 9", "--image-source", "press")
    assert result.exit_code == 0, result.output
    return site.watchlist.records()[0]


def test_reembedding_makes_templates_of_the_new_model_that_match_the_person(site, enrolled_with_dlib, shared_dir,
                                                                             head_patch, detector):
    _configure(site, "openvino", shared_dir / "models")
    result = invoke(site, "watchlist", "reembed")
    assert result.exit_code == 0, result.output
    assert "re-embedded 1 of 1 entry with " + RETAIL in result.output
    counts = {c.model: c.templates for c in site.watchlist.template_counts()}
    assert counts == {"dlib-resnet-v1": 1, RETAIL: 1}
    record = site.audit.records()[-1]
    assert (record.action, record.subject, record.details["failed"]) == ("watchlist.reembed", RETAIL, 0)
    retail = build_face_models(site.config.analysis, site.config.models).embedder
    analysed = site.analyse(walk(head_patch("obama2.jpg"), T0), detector, retail)
    assert analysed.counters.matched_passes == 1


def test_an_entry_whose_stored_photo_is_gone_is_reported_and_keeps_its_other_templates(site, enrolled_with_dlib,
                                                                                       shared_dir):
    [key] = site.watchlist.photo_keys(enrolled_with_dlib.entry_id)
    site.objects.delete(key)
    _configure(site, "openvino", shared_dir / "models")
    result = invoke(site, "watchlist", "reembed")
    assert result.exit_code == 1
    assert f"not re-embedded Barack Obama ({enrolled_with_dlib.entry_id}): photo 1: missing" in result.output
    assert "1 failed" in result.output and "Traceback" not in result.output
    assert {c.model for c in site.watchlist.template_counts()} == {"dlib-resnet-v1"}
    assert [r.entry_id for r in site.watchlist.without_templates(RETAIL)] == [enrolled_with_dlib.entry_id]


def test_the_watchlist_listing_shows_how_many_templates_the_model_in_use_has(site, enrolled_with_dlib, shared_dir):
    _configure(site, "openvino", shared_dir / "models")
    before = invoke(site, "watchlist", "list").output
    assert f"matching: {RETAIL}" in before and " none " in before
    invoke(site, "watchlist", "reembed")
    assert " none " not in invoke(site, "watchlist", "list").output


def test_reembedding_is_audited_under_the_os_user_with_the_claimed_name_beside_it(site, enrolled_with_dlib):
    result = invoke(site, "watchlist", "reembed", "--actor", "dpo")
    assert result.exit_code == 0, result.output
    record = site.audit.records()[-1]
    assert (record.action, record.actor, record.details["claimed_by"]) == ("watchlist.reembed", os_user(), "dpo")
    refused = invoke(site, "watchlist", "reembed", "--actor", "dpo\x1b[2J")
    assert refused.exit_code == 1 and "a name may not hold control characters" in refused.output


def test_import_skips_a_folder_whose_name_is_an_enrolled_persons_respelt_and_allows_another_list(site, people):
    people("Barack Obama", source="obama.jpg")
    first = invoke(site, "watchlist", "import", str(site.root / "people"), "--legal-basis", "case 1")
    assert first.exit_code == 0, first.output
    (site.root / "people" / "Barack Obama").rename(site.root / "people" / "barack\u00a0OBAMA ")
    again = invoke(site, "watchlist", "import", str(site.root / "people"), "--legal-basis", "case 1")
    assert again.exit_code == 0 and "already enrolled" in again.output
    assert [r.display_name for r in site.watchlist.records()] == ["Barack Obama"]
    other = invoke(site, "watchlist", "import", str(site.root / "people"), "--legal-basis", "case 1", "--watchlist", "visitors")
    assert other.exit_code == 0, other.output
    assert sorted(r.watchlist for r in site.watchlist.records()) == ["default", "visitors"]
