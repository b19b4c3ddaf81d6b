from datetime import datetime, timedelta, timezone

import numpy as np

from facetrail.analytics.detector import Detection
from facetrail.analytics.tracker import AppearanceRule, FaceTracker, iou
from facetrail.config import TrackerConfig

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def box(x, y=100, w=80):
    return Detection(x, y, w, w, score=0.9, landmarks=None)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


LOOKS = AppearanceRule("cosine", different_above=0.8, same_below=0.4)


def tracker(appearance: AppearanceRule | None = None, **overrides):
    return FaceTracker(TrackerConfig(**{"max_missing_s": 1.0, **overrides}), appearance)


def face(seed: int) -> np.ndarray:
    """A unit 'embedding' standing for one person's looks (distinct seeds: near-orthogonal people)."""
    vector = np.random.default_rng(seed).normal(size=256).astype(np.float32)
    return vector / np.linalg.norm(vector)


def test_a_moving_box_stays_one_track_across_frames():
    t = tracker()
    ids = set()
    for i in range(10):
        t.update(at(i * 0.2), i, [box(100 + 25 * i)], [0.5])
        ids |= {tr.track_id for tr in t.open_tracks}
    assert len(ids) == 1
    assert t.open_tracks[0].first_seen == at(0) and t.open_tracks[0].last_seen == at(1.8)


def test_a_fast_face_that_barely_overlaps_is_still_linked_by_its_centre():
    t = tracker()
    t.update(at(0), 0, [box(100)], [0.5])
    t.update(at(0.2), 1, [box(160)], [0.5])  # IoU ~0.14, centre moved 0.75 face widths
    assert len(t.open_tracks) == 1


def test_a_track_ends_once_unseen_longer_than_max_missing_s():
    t = tracker(max_missing_s=1.0)
    t.update(at(0), 0, [box(100)], [0.5])
    assert t.update(at(0.9), 1, [], []).ended == []
    update = t.update(at(1.5), 2, [box(100)], [0.5])
    assert [tr.last_seen for tr in update.ended] == [at(0)]
    assert len(t.open_tracks) == 1 and t.open_tracks[0].first_seen == at(1.5)


def test_two_faces_side_by_side_make_two_tracks():
    t = tracker()
    for i in range(3):
        t.update(at(i * 0.2), i, [box(100 + 10 * i), box(500 - 10 * i)], [0.5, 0.5])
    assert len(t.open_tracks) == 2


def test_finish_closes_every_open_track():
    t = tracker()
    t.update(at(0), 0, [box(100), box(500)], [0.5, 0.5])
    assert len(t.finish()) == 2 and t.open_tracks == []


def test_the_best_shot_is_the_highest_quality_one():
    t = tracker()
    for i, quality in enumerate([0.4, 0.8, 0.6]):
        t.update(at(i * 0.2), i, [box(100 + 5 * i)], [quality])
    assert t.open_tracks[0].best.quality == 0.8 and t.open_tracks[0].best.frame_index == 1


def test_iou_of_identical_boxes_is_one_and_of_disjoint_boxes_zero():
    assert iou(box(0), box(0)) == 1.0 and iou(box(0), box(500)) == 0.0


def test_two_walkers_crossing_each_other_keep_their_own_tracks():
    t = tracker()
    seen: dict[int, list[int]] = {}
    for i in range(24):
        a, b = 100 + 66 * i, 1600 - 66 * i
        boxes = [box(a)] if abs(a - b) < 80 else [box(a), box(b)]
        t.update(at(i * 0.2), i, boxes, [0.5] * len(boxes))
        for track in t.open_tracks:
            if track.last_seen == at(i * 0.2):
                seen.setdefault(track.track_id, []).append(track.last.x)
    assert len(seen) == 2
    for xs in seen.values():
        steps = [b - a for a, b in zip(xs, xs[1:])]
        assert all(s > 0 for s in steps) or all(s < 0 for s in steps), xs



def test_a_walker_stays_one_track_when_analysis_slows_to_once_a_second():
    t = tracker(max_missing_s=1.5)
    times = [0.0, 0.2, 0.4, 1.4, 2.4, 3.4]  # the machine got busy after three frames
    for i, seconds in enumerate(times):  # 330 px/s: four face widths between the later frames
        t.update(at(seconds), i, [box(100 + int(330 * seconds))], [0.5])
    assert len(t.open_tracks) == 1 and t.open_tracks[0].first_seen == at(0)


def test_a_face_that_clearly_looks_like_someone_else_is_not_linked_to_a_track_by_position():
    t = tracker(LOOKS)
    ada, bob = face(1), face(2)
    for i in range(3):  # Ada stands still at x=500 while Bob walks towards her
        t.update(at(i * 0.2), i, [box(500), box(200 + 60 * i)], [0.5, 0.5], [ada, bob])
    # Bob steps in front of Ada: one face, nearer Ada's box than where Bob was heading
    update = t.update(at(0.6), 3, [box(495)], [0.5], [bob])
    assert [linked.track.appearance @ bob > 0.99 for linked in update.linked] == [True]


def test_without_appearance_the_same_scene_hands_bobs_face_to_adas_track():
    t = tracker()
    for i in range(3):
        t.update(at(i * 0.2), i, [box(500), box(200 + 60 * i)], [0.5, 0.5])
    ada = t.open_tracks[0]
    update = t.update(at(0.6), 3, [box(495)], [0.5])
    assert update.linked[0].track is ada  # the mistake appearance prevents


def test_a_walk_hidden_for_two_seconds_is_taken_up_again_by_a_face_that_looks_the_same():
    t = tracker(LOOKS, max_missing_s=1.0, rejoin_s=3.0)
    ada = face(1)
    for i in range(4):
        t.update(at(i * 0.2), i, [box(100 + 30 * i)], [0.5], [ada])
    for i in range(4, 14):  # behind a pillar
        assert t.update(at(i * 0.2), i, [], []).ended == []
    update = t.update(at(2.8), 14, [box(900)], [0.5], [face(1) * 0.9 + face(3) * 0.1])
    assert len(t.open_tracks) == 1 and update.linked[0].track.first_seen == at(0)
    assert update.linked[0].track.rejoined == 1


def test_a_walker_seen_again_after_dropped_frames_far_from_where_predicted_stays_one_track_by_looks():
    t = tracker(LOOKS, max_missing_s=1.0)
    t.update(at(0.0), 0, [box(100)], [0.5], [face(1)])  # seen once: no velocity yet
    update = t.update(at(0.6), 3, [box(600)], [0.5], [face(1) * 0.9 + face(3) * 0.1])  # six face widths on
    assert len(t.open_tracks) == 1 and update.linked[0].track.first_seen == at(0)


def test_a_stranger_appearing_while_a_track_is_unreached_starts_a_track_of_their_own():
    t = tracker(LOOKS, max_missing_s=1.0)
    t.update(at(0.0), 0, [box(100)], [0.5], [face(1)])
    assert t.propose(at(0.6), [box(600)])[0].ambiguous  # an embedding is wanted to tell
    update = t.update(at(0.6), 3, [box(600)], [0.5], [face(2)])
    assert update.linked[0].track.first_seen == at(0.6) and len(t.open_tracks) == 2


def test_a_lost_track_is_not_taken_up_by_someone_else():
    t = tracker(LOOKS, rejoin_s=3.0)
    for i in range(4):
        t.update(at(i * 0.2), i, [box(100 + 30 * i)], [0.5], [face(1)])
    t.update(at(2.0), 10, [], [])
    update = t.update(at(2.4), 12, [box(900)], [0.5], [face(2)])
    assert update.linked[0].track.first_seen == at(2.4) and len(t.lost_tracks) == 1


def test_a_lost_track_ends_once_unseen_longer_than_rejoin_s():
    t = tracker(LOOKS, max_missing_s=1.0, rejoin_s=3.0)
    t.update(at(0), 0, [box(100)], [0.5], [face(1)])
    assert t.update(at(2.0), 1, [], []).ended == [] and len(t.lost_tracks) == 1
    assert [tr.first_seen for tr in t.update(at(3.5), 2, [], []).ended] == [at(0)]
    assert t.lost_tracks == []


def test_a_face_two_tracks_compete_for_is_ambiguous_without_an_embedding():
    t = tracker(LOOKS)
    t.update(at(0), 0, [box(100), box(170)], [0.5, 0.5])
    proposals = t.propose(at(0.2), [box(135)])
    assert proposals[0].ambiguous and proposals[0].track is not None


def test_faces_far_apart_are_placed_by_position_alone():
    t = tracker(LOOKS)
    t.update(at(0), 0, [box(100), box(600)], [0.5, 0.5])
    assert [p.ambiguous for p in t.propose(at(0.2), [box(110), box(610)])] == [False, False]
