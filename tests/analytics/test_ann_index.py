"""The approximate (HNSW) path of 1:N matching agrees with exact search on large lists.

The lists are real face embeddings (face_recognition's photos of Obama and Biden)
among tens of thousands of other entries derived from them by noise large enough
that none of them is the same person (distance > 0.6).
"""

import numpy as np
import pytest

from facetrail.analytics.ann_index import AnnIndex
from facetrail.analytics.matcher import APPROXIMATE_FROM_ROWS, Matcher

DISTRACTORS = APPROXIMATE_FROM_ROWS + 2_000
SMALL_SWITCH = 2_000
"""Switch size of the matchers that test the rules on the approximate path (a quicker index to build)."""


@pytest.fixture(scope="module")
def real(obama, obama2, biden, hog_detector, embedder, face_embedding):
    return {name: face_embedding(img, hog_detector, embedder) for name, img in
            {"obama": obama, "obama2": obama2, "biden": biden}.items()}


def _with_distractors(real, make_person, count: int) -> list:
    rng = np.random.default_rng(7)
    bases = np.stack([real["obama"], real["biden"]])[rng.integers(0, 2, count)]
    distractors = bases + rng.normal(0, 0.09, bases.shape).astype(np.float32)  # ~1.0 away: other people
    people = [make_person(f"d{i}", row) for i, row in enumerate(distractors)]
    return people + [make_person("obama", real["obama"]), make_person("biden", real["biden"])]


@pytest.fixture(scope="module")
def large_list(real, make_person):
    """Obama and Biden enrolled among more distractor entries than the exact/approximate switch size."""
    return _with_distractors(real, make_person, DISTRACTORS)


@pytest.fixture(scope="module")
def mid_list(real, make_person):
    """Obama and Biden among more distractors than SMALL_SWITCH."""
    return _with_distractors(real, make_person, SMALL_SWITCH + 500)


@pytest.fixture(scope="module")
def approximate(large_list):
    return Matcher(large_list, threshold=0.5)


def test_a_list_above_the_switch_size_is_searched_approximately(approximate, large_list):
    assert approximate.approximate
    assert not Matcher(large_list[:100], threshold=0.5).approximate


def test_the_approximate_path_returns_the_same_match_as_exact(approximate, large_list, real):
    exact = Matcher(large_list, threshold=0.5, approximate_from_rows=10**9)
    probes = np.stack([real["obama2"], real["biden"] + 0.01, real["obama"] - 0.01])
    got, want = approximate.match_many(probes), exact.match_many(probes)
    assert [m.entry_id for m in got] == [m.entry_id for m in want] == ["obama", "biden", "obama"]
    assert [m.distance for m in got] == pytest.approx([m.distance for m in want], abs=1e-5)


def test_the_approximate_path_keeps_an_unenrolled_face_unmatched(mid_list, real):
    without_obama = [p for p in mid_list if p.entry_id != "obama"]
    matcher = Matcher(without_obama, threshold=0.5, approximate_from_rows=SMALL_SWITCH)
    assert matcher.approximate and matcher.match(real["obama2"]) is None


def test_the_approximate_path_never_matches_an_expired_entry(mid_list, real, make_person):
    people = [p for p in mid_list if p.entry_id != "obama"] + [make_person("obama", real["obama"], expires_in_days=-1)]
    matcher = Matcher(people, threshold=0.5, approximate_from_rows=SMALL_SWITCH)
    assert matcher.approximate and matcher.match(real["obama"]) is None


def test_the_approximate_path_still_suppresses_a_rejected_example(mid_list, real, make_person):
    people = [p for p in mid_list if p.entry_id != "obama"] + [make_person("obama", real["obama"], rejected=real["obama2"])]
    matcher = Matcher(people, threshold=0.5, approximate_from_rows=SMALL_SWITCH)
    assert matcher.approximate and matcher.match(real["obama2"] + 0.001) is None
    assert matcher.match(real["obama"]).entry_id == "obama"


def test_the_index_finds_each_row_as_its_own_nearest_neighbour(real):
    rows = np.stack([real["obama"], real["obama2"], real["biden"]])
    found, distances = AnnIndex(rows).search(rows, k=2)
    assert found[:, 0].tolist() == [0, 1, 2]
    assert distances[:, 0] == pytest.approx([0, 0, 0], abs=1e-4)


def test_the_index_pads_when_fewer_rows_than_asked(real):
    found, distances = AnnIndex(real["obama"].reshape(1, 128)).search(real["biden"], k=5)
    assert found.shape == (1, 1) and found[0, 0] == 0 and np.isfinite(distances[0, 0])
