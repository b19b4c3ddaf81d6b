"""`facetrail calibrate`: a threshold for a stated false-alert rate, measured on a cohort of people off the list."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from facetrail.calibration import CalibrationError, read_cohort, threshold_for, truth_by_name
from facetrail.cli.main import cli


def test_a_cohort_is_read_from_labels_csv_skipping_group_photos(tmp_path):
    (tmp_path / "labels.csv").write_text("file,identity\na.jpg,Ada_Lovelace\nb.jpg,Ada_Lovelace;Bob\n")
    assert [(p.path.name, p.identity) for p in read_cohort(tmp_path)] == [("a.jpg", "Ada_Lovelace")]


def test_a_cohort_is_read_from_one_folder_per_identity(tmp_path):
    (tmp_path / "Ada").mkdir()
    (tmp_path / "Ada" / "1.png").write_bytes(b"x")
    (tmp_path / "Ada" / "notes.txt").write_text("not a photo")
    assert [(p.path.name, p.identity) for p in read_cohort(tmp_path)] == [("1.png", "Ada")]


def test_a_folder_without_labelled_photos_is_refused_saying_what_is_expected(tmp_path):
    with pytest.raises(CalibrationError, match="labels.csv with file,identity"):
        read_cohort(tmp_path)


def test_cohort_names_match_display_names_whatever_their_case_and_underscores():
    truth = truth_by_name({"Ada Lovelace": "e1"})
    assert (truth("ada_lovelace"), truth("Bob")) == ("e1", None)


def test_the_threshold_is_the_largest_seen_distance_within_the_target():
    rates = {0.1: 0.0, 0.2: 0.001, 0.3: 0.002, 0.4: 0.004, 0.5: 0.02}
    assert threshold_for(rates.__getitem__, 0.003, rates) == 0.3
    assert threshold_for(rates.__getitem__, 0.0001, rates) == 0.1
    assert threshold_for(lambda t: 1.0, 0.003, rates) == 0.0


@pytest.fixture
def lfw_site(shared_dir, tmp_path):
    """20 lfw-dev people (19 whose photos show their eyes) enrolled from two photos each, on the strong models from ../shared, and a cohort of 60
    other people (plus the enrolled ones' later photos)."""
    from tests.analytics.lfw import identities

    lfw = shared_dir / "faces" / "lfw-dev"
    people = identities()
    names = sorted(people)
    random.Random(11).shuffle(names)
    listed = [n for n in names if len(people[n]) >= 3][:20]
    others = [n for n in names if n not in listed][:60]
    for name in listed:
        folder = tmp_path / "people" / name
        folder.mkdir(parents=True)
        for photo in people[name][:2]:
            os.symlink(lfw / photo, folder / Path(photo).name)
    for name in listed + others:
        folder = tmp_path / "cohort" / name
        folder.mkdir(parents=True)
        for photo in people[name][2 if name in listed else 0:][:3]:
            os.symlink(lfw / photo, folder / Path(photo).name)
    config = tmp_path / "site.yaml"
    config.write_text(f"database: {{url: 'sqlite:///{tmp_path}/f.db'}}\nbus: {{kind: sqlite, path: {tmp_path}/bus.db}}\n"
                      f"objects: {{kind: local, path: {tmp_path}/objects}}\nmodels: {{dir: '{shared_dir / 'models'}'}}\n")
    enrolled = CliRunner().invoke(cli, ["watchlist", "import", str(tmp_path / "people"), "-c", str(config),
                                        "--legal-basis", "test", "--image-source", "lfw-dev", "--face", "largest"])
    # lfw-dev is real news photos: Kevin_Costner_0002 shows him in dark glasses, which enrolment rightly refuses
    refused = [line for line in enrolled.output.splitlines() if line.startswith("not enrolled")]
    assert len(refused) <= 1 and all("eyes not visible" in line for line in refused), enrolled.output
    return config, tmp_path / "cohort"


def test_calibrate_sets_the_operating_point_reports_it_and_audits_it(lfw_site):
    config, cohort = lfw_site
    runner = CliRunner()
    result = runner.invoke(cli, ["calibrate", "-c", str(config), "--cohort", str(cohort), "--target-fpir", "0.05",
                                 "--passes", "40", "--searches", "200"])
    assert result.exit_code == 0, result.output
    assert "per pass:   FPIR" in result.output and "set: face-reidentification-retail-0095-fp16" in result.output
    assert "listed people's nearest look-alikes" in result.output
    assert "listed passes found at this threshold, clean:" in result.output
    assert "listed passes found at this threshold, compound:" in result.output
    from facetrail.stores import Stores

    stores = Stores.load(config)
    point = stores.watchlist.operating_point("face-reidentification-retail-0095-fp16")
    assert point is not None and point.target_fpir == 0.05 and point.per_pass_fpir <= 0.05
    assert point.expected_fnir is not None and point.cohort_searches > 100
    [record] = [r for r in stores.audit.records() if r.action == "matching.calibrate"]
    assert record.details["threshold"] == point.threshold and record.details["cohort"] == "cohort"
    listing = runner.invoke(cli, ["watchlist", "list", "-c", str(config)]).output
    assert f"threshold {point.threshold:.3f}" in listing and "calibrated" in listing


def test_calibrating_stores_nothing_of_the_cohort(lfw_site):
    config, cohort = lfw_site
    from facetrail.stores import Stores

    stores = Stores.load(config)
    objects_before = sorted(stores.objects.keys())
    entries_before = len(stores.watchlist.records())
    result = CliRunner().invoke(cli, ["calibrate", "-c", str(config), "--cohort", str(cohort), "--passes", "10",
                                      "--searches", "50", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert sorted(stores.objects.keys()) == objects_before and len(stores.watchlist.records()) == entries_before
    assert stores.watchlist.operating_point("face-reidentification-retail-0095-fp16") is None
    assert stores.sightings.search() == []


def test_each_listed_entry_gets_its_nearest_non_mated_cohort_photo_as_a_look_alike_each_identity_once():
    from facetrail.analytics.passes import Candidate
    from facetrail.calibration import CohortPhoto, Searches, lookalikes

    a, b, c, listed = (CohortPhoto(Path(f"{n}.jpg"), n) for n in ("anna", "bert", "carl", "ada_again"))
    searches = Searches(
        candidates=[(Candidate("ada", 1, 0.30), Candidate("bob", 2, 0.70)), (Candidate("bob", 2, 0.40),),
                    (Candidate("ada", 1, 0.35), Candidate("bob", 2, 0.36)), (Candidate("ada", 1, 0.01),)],
        truth=[None, None, None, "ada"], photos=[a, b, c, listed])
    assert lookalikes(searches) == [a, c]  # ada's nearest is anna; bob's is carl (0.36 < 0.40); the mated photo never


def test_a_compound_walk_is_small_coded_and_degraded_at_1080p():
    import numpy as np

    from facetrail.cohort_walks import COMPOUND, walk_frames
    from facetrail.analytics.detector import Detection

    face_image = np.random.default_rng(1).integers(0, 255, (250, 250, 3), np.uint8)
    face = Detection(x=80, y=80, w=90, h=90, score=1.0)
    frames = walk_frames(face_image, face, random.Random(3), condition=COMPOUND)
    assert len(frames) == 12 and frames[0].pixels.width == 1920 and frames[0].pixels.height == 1080
    assert all(f.captured_at < g.captured_at for f, g in zip(frames, frames[1:]))
