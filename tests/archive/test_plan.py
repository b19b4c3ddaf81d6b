"""Cutting recordings into segments at key frames, and which segment owns a pass."""

from datetime import datetime, timedelta, timezone

from facetrail.archive.plan import LeasedSegment, Recording, plan_segments, snap_down, within

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CLIP = Recording("x.mp4", "a" * 64, 1, T0, 20.0, tuple(float(k) for k in range(0, 20, 2)))


def test_segments_start_at_the_first_key_frame_after_each_segment_length():
    plans = plan_segments(CLIP, 5.0, 3.0, 0.2)
    assert [(p.start_s, p.end_s) for p in plans] == [(0.0, 6.0), (6.0, 12.0), (12.0, 18.0), (18.0, 20.0)]


def test_segments_are_read_one_pass_length_either_side_within_the_file():
    plans = plan_segments(CLIP, 5.0, 3.0, 0.2)
    assert [(p.read_from_s, p.read_until_s) for p in plans] == [(0.0, 9.0), (3.0, 15.0), (9.0, 20.0), (15.0, 20.0)]
    assert [p.last_of_recording for p in plans] == [False, False, False, True]


def test_a_read_starts_on_the_analysis_grid_so_it_samples_the_frames_a_whole_file_read_does():
    assert snap_down(5.93, 0.2) == 5.8 and snap_down(6.0, 0.2) == 6.0 and snap_down(-1.0, 0.2) == 0.0


def test_a_file_without_key_frames_is_one_segment():
    plans = plan_segments(Recording("x.mp4", "a" * 64, 1, T0, 0.0), 5.0, 3.0, 0.2)
    assert [(p.start_s, p.end_s, p.last_of_recording) for p in plans] == [(0.0, 0.0, True)]


def _leased(start_s: float, end_s: float, last: bool = False) -> LeasedSegment:
    return LeasedSegment("s", "j", "cam", "x.mp4", "a" * 64, T0, start_s, end_s, 0.0, 30.0, 1, None, last)


def test_a_pass_belongs_to_the_segment_it_begins_in():
    first, second = _leased(0.0, 6.0), _leased(6.0, 12.0, last=True)
    begun = [T0 + timedelta(seconds=s) for s in (0.0, 5.8, 6.0, 11.8, 19.0)]
    assert [first.owns(t) for t in begun] == [True, True, False, False, False]
    assert [second.owns(t) for t in begun] == [False, False, True, True, True]


def test_no_pass_outside_the_authorised_time_range_is_published():
    segment = LeasedSegment("s", "j", "cam", "x.mp4", "a" * 64, T0, 0.0, 20.0, 0.0, 20.0, 1, None, True,
                            since=T0 + timedelta(seconds=5), until=T0 + timedelta(seconds=10))
    assert [segment.owns(T0 + timedelta(seconds=s)) for s in (4.8, 5.0, 9.8, 10.0)] == [False, True, True, False]


def test_only_segments_holding_footage_of_the_time_range_are_kept():
    plans = plan_segments(CLIP, 5.0, 3.0, 0.2)
    kept = [p.ordinal for p in plans if within(p, T0 + timedelta(seconds=7), T0 + timedelta(seconds=13))]
    assert kept == [1, 2]
