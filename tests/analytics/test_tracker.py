from datetime import datetime, timedelta, timezone

from facetrail.analytics.detector import Detection
from facetrail.analytics.tracker import FaceTracker, iou
from facetrail.config import TrackerConfig

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def box(x, y=100, w=80):
    return Detection(x, y, w, w, score=0.9, landmarks=None)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def tracker(**overrides):
    return FaceTracker(TrackerConfig(**{"max_missing_s": 1.0, "best_shots": 3, **overrides}), min_quality=0.25)


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


def test_only_clearly_better_shots_are_offered_and_at_most_best_shots_of_them():
    t = tracker(best_shots=2)
    offered = []
    for i, quality in enumerate([0.3, 0.32, 0.5, 0.9, 0.95]):
        update = t.update(at(i * 0.2), i, [box(100 + 5 * i)], [quality])
        for track, shot in update.to_embed:
            t.mark_embedded(track, shot)
            offered.append(shot.quality)
    assert offered == [0.3, 0.5]


def test_shots_below_min_quality_are_never_offered():
    t = tracker()
    update = t.update(at(0), 0, [box(100)], [0.1])
    assert update.to_embed == [] and len(t.open_tracks) == 1


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
