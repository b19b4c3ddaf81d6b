"""Deciding a pass on its fused shots: pure, the same code live and in replay."""

from facetrail.analytics.passes import Candidate, PassEvidence, PassPolicy, Rule, TracedShot, replay

POLICY = PassPolicy(max_embeddings=6, first_shots=2, spacing=2, fuse_top=3, strong_margin=0.1)
RULE = Rule(threshold=0.5, max_distance_ratio=0.9)


def shot(*pairs: tuple[str, float], quality: float = 0.5, frame: int = 0) -> TracedShot:
    return TracedShot(frame, quality, tuple(Candidate(e, hash(e) % 1000, d) for e, d in pairs))


def test_one_lucky_shot_among_many_far_ones_does_not_make_a_match():
    shots = [shot(("ada", 0.45), ("bob", 0.9))] + [shot(("ada", 0.8), ("bob", 0.9))] * 8
    assert replay(shots, POLICY, RULE).final is None


def test_several_good_shots_match_even_with_poor_ones_between():
    shots = [shot(("ada", 0.85), ("bob", 0.9)), shot(("ada", 0.42), ("bob", 0.9)), shot(("ada", 0.9), ("bob", 0.95)),
             shot(("ada", 0.44), ("bob", 0.9)), shot(("ada", 0.46), ("bob", 0.92))]
    done = replay(shots, PassPolicy(max_embeddings=12, first_shots=12), RULE)
    assert done.final is not None and done.final.entry_id == "ada" and abs(done.final.distance - 0.44) < 1e-9


def test_one_clearly_strong_shot_alerts_at_once():
    done = replay([shot(("ada", 0.3), ("bob", 0.9)), shot(("ada", 0.8), ("bob", 0.9))], POLICY, RULE)
    assert done.alert is not None and (done.alert.entry_id, done.alert.shots) == ("ada", 1)


def test_a_fused_alert_waits_for_fuse_top_shots():
    shots = [shot(("ada", 0.45), ("bob", 0.9)) for _ in range(4)]
    done = replay(shots, PassPolicy(max_embeddings=12, first_shots=12, fuse_top=3), RULE)
    assert done.alert.shots == 3


def test_a_rival_identity_nearly_as_near_blocks_the_match():
    shots = [shot(("ada", 0.40), ("bob", 0.42)) for _ in range(4)]
    assert replay(shots, POLICY, RULE).final is None


def test_one_person_on_two_lists_is_not_their_own_rival():
    same = 7
    shots = [TracedShot(0, 0.5, (Candidate("ada-list-a", same, 0.40), Candidate("ada-list-b", same, 0.41)))] * 3
    assert replay(shots, POLICY, RULE).final.entry_id == "ada-list-a"


def test_the_budget_is_spread_over_the_pass_and_better_shots_jump_the_queue():
    evidence, embedded = PassEvidence(), []
    for frame, quality in enumerate([0.3, 0.3, 0.3, 0.3, 0.3, 0.6, 0.3, 0.3, 0.3, 0.3]):
        if evidence.wants(quality, POLICY, settled=False):
            evidence.add((Candidate("ada", 1, 0.8),), quality, POLICY, RULE)
            embedded.append(frame)
    assert embedded == [0, 1, 3, 5, 7, 9]  # two at once, then every second frame, and 5 for its quality


def test_no_more_than_the_per_pass_budget_is_embedded():
    done = replay([shot(("ada", 0.8)) for _ in range(40)], POLICY, RULE)
    assert done.embedded == POLICY.max_embeddings


def test_a_settled_pass_stops_embedding():
    shots = [shot(("ada", 0.2), ("bob", 0.9)) for _ in range(10)]
    assert replay(shots, PassPolicy(max_embeddings=12, first_shots=12, fuse_top=3), RULE).embedded == 3


def test_shots_below_the_quality_gate_are_not_considered():
    shots = [shot(("ada", 0.2), quality=0.1)] * 5
    assert replay(shots, POLICY, RULE, min_quality=0.25).final is None


# ---- mean fusion: the pass decided on the normalised mean of its embedded shots ----------------------------

import numpy as np  # noqa: E402

from facetrail.analytics.matcher import Matcher  # noqa: E402

MEAN = PassPolicy(max_embeddings=12, first_shots=12, fuse_top=3, strong_margin=0.1, fusion="mean")
TOP = PassPolicy(max_embeddings=12, first_shots=12, fuse_top=3, strong_margin=0.1, fusion="top")


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _gallery(dim: int = 64, people: int = 20, seed: int = 3):
    from datetime import datetime, timedelta, timezone

    from facetrail.watchlist import EnrolledPerson, EntryRecord

    rng, now = np.random.default_rng(seed), datetime.now(timezone.utc)
    templates = [_unit(rng.normal(size=dim)) for _ in range(people)]
    enrolled = [EnrolledPerson(EntryRecord(f"p{i}", f"p{i}", "default", "test", "test", "test", now,
                                           now + timedelta(days=1)), t[None, :]) for i, t in enumerate(templates)]
    return Matcher(enrolled, 0.5, max_distance_ratio=0.9, metric="cosine"), templates, rng


def _noisy_shots(matcher: Matcher, identity: np.ndarray, rng, count: int, noise: float) -> list[TracedShot]:
    """Shots of one person each pulled far from the person by its own noise (blur, compression, pose)."""
    embeddings = [_unit(identity + noise * rng.normal(size=identity.shape) / np.sqrt(identity.size))
                  for _ in range(count)]
    found = matcher.candidates_many(np.stack(embeddings))
    return [TracedShot(i, 0.5, tuple(c), e) for i, (c, e) in enumerate(zip(found, embeddings))]


def _search(matcher: Matcher):
    return lambda embedding: matcher.candidates_many(embedding[None, :])[0]


def test_a_pass_of_noisy_shots_is_matched_on_their_mean_where_no_shot_nor_their_fused_distances_are_near_enough():
    matcher, templates, rng = _gallery()
    shots = _noisy_shots(matcher, templates[4], rng, count=10, noise=2.5)
    rule = Rule(threshold=0.5, max_distance_ratio=0.9)
    assert min(s.candidates[0].distance for s in shots) > 0.5  # no single shot is within the threshold
    assert replay(shots, TOP, rule, search=_search(matcher)).final is None
    done = replay(shots, MEAN, rule, search=_search(matcher))
    assert done.final is not None and done.final.entry_id == "p4" and done.final.shots >= MEAN.fuse_top


def test_the_mean_is_tested_against_rival_identities():
    matcher, templates, rng = _gallery()
    between = _unit(templates[1] + templates[2])  # a face halfway between two listed people
    shots = _noisy_shots(matcher, between, rng, count=8, noise=0.05)
    assert replay(shots, MEAN, Rule(threshold=0.9, max_distance_ratio=0.9), search=_search(matcher)).final is None
    assert replay(shots, MEAN, Rule(threshold=0.9, max_distance_ratio=1.0), search=_search(matcher)).final is not None


def test_one_clearly_strong_shot_still_alerts_at_once_under_mean_fusion():
    matcher, templates, rng = _gallery()
    strong = _noisy_shots(matcher, templates[7], rng, count=1, noise=0.05)
    weak = _noisy_shots(matcher, templates[7], rng, count=5, noise=2.5)
    done = replay(strong + weak, MEAN, Rule(threshold=0.5, max_distance_ratio=0.9), search=_search(matcher))
    assert done.alert is not None and (done.alert.entry_id, done.alert.shots) == ("p7", 1)


def test_a_passer_by_far_from_every_entry_is_not_matched_on_the_mean():
    matcher, _, rng = _gallery()
    stranger = _unit(rng.normal(size=64))
    shots = _noisy_shots(matcher, stranger, rng, count=10, noise=1.0)
    assert replay(shots, MEAN, Rule(threshold=0.5, max_distance_ratio=0.9), search=_search(matcher)).final is None


def test_quality_weighting_lets_sharp_shots_outweigh_blurred_ones():
    matcher, templates, rng = _gallery()
    sharp = [replace_quality(s, 1.0) for s in _noisy_shots(matcher, templates[2], rng, count=3, noise=1.2)]
    other = [replace_quality(s, 0.01) for s in _noisy_shots(matcher, templates[9], rng, count=6, noise=0.3)]
    rule, search = Rule(threshold=0.6, max_distance_ratio=1.0), _search(matcher)
    weighted = PassPolicy(max_embeddings=12, first_shots=12, strong_margin=0.0, settle=False, fusion="mean",
                          quality_weighted=True)
    plain = PassPolicy(max_embeddings=12, first_shots=12, strong_margin=0.0, settle=False, fusion="mean")
    assert replay(sharp + other, weighted, rule, search=search).final.entry_id == "p2"
    assert replay(sharp + other, plain, rule, search=search).final.entry_id == "p9"


def replace_quality(traced: TracedShot, quality: float) -> TracedShot:
    return TracedShot(traced.frame_index, quality, traced.candidates, traced.embedding)


def test_the_analyser_fuses_distances_unless_the_config_asks_for_the_mean():
    from facetrail.analytics.pipeline import pass_policy
    from facetrail.config import AnalysisConfig, PassConfig

    assert pass_policy(AnalysisConfig()).fusion == "top"
    mean = pass_policy(AnalysisConfig(passes=PassConfig(fusion="mean", quality_weighted=True)))
    assert mean.fusion == "mean" and mean.quality_weighted
