import numpy as np
import pytest

from facetrail.analytics.matcher import Matcher


@pytest.fixture(scope="module")
def embeddings(obama, obama2, biden, hog_detector, embedder, face_embedding):
    return {name: face_embedding(img, hog_detector, embedder) for name, img in
            {"obama": obama, "obama2": obama2, "biden": biden}.items()}


def test_an_enrolled_person_matches_another_photo_of_them(embeddings, make_person):
    matcher = Matcher([make_person("obama", embeddings["obama"]), make_person("biden", embeddings["biden"])], threshold=0.5)
    match = matcher.match(embeddings["obama2"])
    assert match.entry_id == "obama"
    assert match.score == pytest.approx(1 - match.distance) and 0 < match.distance < 0.5


def test_an_unenrolled_face_returns_no_match(embeddings, make_person):
    matcher = Matcher([make_person("obama", np.vstack([embeddings["obama"], embeddings["obama2"]]))], threshold=0.5)
    assert matcher.match(embeddings["biden"]) is None


def test_an_empty_watch_list_never_matches(embeddings):
    matcher = Matcher([], threshold=0.5)
    assert matcher.match(embeddings["obama"]) is None
    assert matcher.match_many(np.vstack(list(embeddings.values()))) == [None, None, None]


def test_an_expired_entry_never_matches(embeddings, make_person):
    matcher = Matcher([make_person("obama", embeddings["obama"], expires_in_days=-1)], threshold=0.5)
    assert matcher.match(embeddings["obama"]) is None


def test_a_probe_closer_to_a_rejected_example_is_suppressed(embeddings, make_person):
    # A reviewer marked obama2's shot "not this person" for an entry enrolled from obama.jpg.
    person = make_person("obama", embeddings["obama"], rejected=embeddings["obama2"])
    matcher = Matcher([person], threshold=0.5)
    assert matcher.match(embeddings["obama2"] + 0.001) is None
    assert matcher.match(embeddings["obama"]).entry_id == "obama"


def test_an_entry_threshold_overrides_the_global_one(embeddings, make_person):
    strict = make_person("obama", embeddings["obama"], threshold=0.05)
    assert Matcher([strict], threshold=0.5).match(embeddings["obama2"]) is None


def test_the_distance_to_a_person_is_the_smallest_over_their_photos(embeddings, make_person):
    person = make_person("obama", np.vstack([embeddings["biden"], embeddings["obama2"]]))
    match = Matcher([person], threshold=0.5).match(embeddings["obama2"])
    assert match.distance == pytest.approx(0.0, abs=1e-3)


def test_match_many_agrees_with_match(embeddings, make_person):
    matcher = Matcher([make_person("obama", embeddings["obama"]), make_person("biden", embeddings["biden"])], threshold=0.5)
    probes = np.vstack([embeddings["obama2"], embeddings["biden"]])
    many, one_by_one = matcher.match_many(probes), [matcher.match(p) for p in probes]
    assert [m.entry_id for m in many] == [m.entry_id for m in one_by_one]
    assert [m.distance for m in many] == pytest.approx([m.distance for m in one_by_one], abs=1e-6)


# Ratio test: synthetic embeddings, so each test sets the two distances it is about exactly.
# The probe lies along axis 1 at `nearest` from entry "a"; entry "b" lies along axis 0 at `offset`
# from "a", so the probe is sqrt(nearest**2 + offset**2) from "b".
BASE = np.full(128, 0.05, np.float32)


def _axis(i: int, length: float) -> np.ndarray:
    step = np.zeros(128, np.float32)
    step[i] = length
    return BASE + step


def _probe(nearest: float) -> np.ndarray:
    return _axis(1, nearest)


def _rival(offset: float) -> np.ndarray:
    return _axis(0, offset)


def test_a_face_nearly_as_near_to_another_identity_matches_nobody(make_person):
    # 0.40 from "a", 0.427 from "b": ratio 0.94
    people = [make_person("a", BASE), make_person("b", _rival(0.15))]
    assert Matcher(people, threshold=0.48, max_distance_ratio=0.9).match(_probe(0.40)) is None


def test_with_the_ratio_test_off_the_nearest_entry_within_the_threshold_matches(make_person):
    people = [make_person("a", BASE), make_person("b", _rival(0.15))]
    assert Matcher(people, threshold=0.48, max_distance_ratio=1.0).match(_probe(0.40)).entry_id == "a"


def test_a_face_clearly_nearer_one_identity_matches_it_with_its_own_distance(make_person):
    # 0.30 from "a", 0.58 from "b": ratio 0.51
    people = [make_person("a", BASE), make_person("b", _rival(0.5))]
    match = Matcher(people, threshold=0.48, max_distance_ratio=0.9).match(_probe(0.30))
    assert match.entry_id == "a" and match.distance == pytest.approx(0.30, abs=1e-5)


def test_the_ratio_test_does_not_fall_back_to_the_runner_up(make_person):
    # both within the threshold and ambiguous: neither "a" nor "b" may be named
    people = [make_person("a", BASE), make_person("b", _rival(0.15))]
    assert Matcher(people, threshold=0.5, max_distance_ratio=0.9).match_many(_probe(0.40)[None, :]) == [None]


def test_a_persons_other_photo_is_not_their_rival(make_person):
    person = make_person("a", np.vstack([BASE, _rival(0.15)]))
    assert Matcher([person, make_person("b", _rival(1.0))], threshold=0.48, max_distance_ratio=0.9).match(_probe(0.40)).entry_id == "a"


def test_an_entry_on_two_lists_is_not_its_own_rival(make_person):
    people = [make_person("a", BASE), make_person("a", _rival(0.15))]
    assert Matcher(people, threshold=0.48, max_distance_ratio=0.9).match(_probe(0.40)).entry_id == "a"


def test_an_expired_entry_is_no_rival(make_person):
    people = [make_person("a", BASE), make_person("b", _rival(0.15), expires_in_days=-1)]
    assert Matcher(people, threshold=0.48, max_distance_ratio=0.9).match(_probe(0.40)).entry_id == "a"


def test_two_identities_enrolled_from_the_same_face_never_match_it(make_person):
    people = [make_person("a", BASE), make_person("b", BASE)]
    assert Matcher(people, threshold=0.48, max_distance_ratio=0.9).match(BASE) is None


def test_the_approximate_path_applies_the_ratio_test(make_person):
    people = [make_person("a", BASE), make_person("b", _rival(0.15))]
    matcher = Matcher(people, threshold=0.48, approximate_from_rows=1, max_distance_ratio=0.9)
    assert matcher.approximate and matcher.match(_probe(0.40)) is None


def test_the_services_matcher_takes_threshold_and_ratio_from_the_rule_in_force(make_person):
    from facetrail.analytics.dlib_embedder import DLIB_SPACE
    from facetrail.analytics.matcher import MatchingRule

    matcher = Matcher.for_space([make_person("a", BASE)], DLIB_SPACE, MatchingRule(0.4, 0.8, "config"))
    assert (matcher.threshold, matcher.max_distance_ratio) == (0.4, 0.8)


def _unit(vector) -> np.ndarray:
    vector = np.asarray(vector, np.float32)
    return vector / np.linalg.norm(vector)


def test_a_cosine_space_reports_one_minus_the_cosine_similarity_as_distance(make_person):
    a, probe = _unit(np.r_[1.0, 0.0, np.zeros(254)]), _unit(np.r_[0.8, 0.6, np.zeros(254)])
    matcher = Matcher([make_person("a", a[None, :])], threshold=0.3, metric="cosine")
    match = matcher.match(probe)
    assert match is not None and abs(match.distance - 0.2) < 1e-6 and abs(match.score - 0.8) < 1e-6
    assert abs(float(matcher.distances(probe)[0, 0]) - 0.2) < 1e-6


def test_the_rule_in_force_is_the_configs_then_the_calibrated_then_the_models_default():
    from datetime import datetime, timezone

    from facetrail.analytics.dlib_embedder import DLIB_SPACE
    from facetrail.analytics.matcher import matching_rule
    from facetrail.config import MatchingConfig
    from facetrail.watchlist import OperatingPoint

    point = OperatingPoint("dlib-resnet-v1", 0.41, 0.85, 0.003, datetime(2026, 12, 1, tzinfo=timezone.utc), "ana")
    other_model = OperatingPoint("another-model", 0.2, 0.5, 0.003, datetime(2026, 12, 1, tzinfo=timezone.utc), "ana")
    assert matching_rule(MatchingConfig(threshold=0.5), DLIB_SPACE, point).threshold == 0.5
    calibrated = matching_rule(MatchingConfig(), DLIB_SPACE, point)
    assert (calibrated.threshold, calibrated.max_distance_ratio) == (0.41, 0.85) and "calibrated" in calibrated.source
    assert matching_rule(MatchingConfig(), DLIB_SPACE, other_model).threshold == DLIB_SPACE.threshold
    assert matching_rule(MatchingConfig(), DLIB_SPACE, None).source == "dlib-resnet-v1 default"
