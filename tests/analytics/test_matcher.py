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
