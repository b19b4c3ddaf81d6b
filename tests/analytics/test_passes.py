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
