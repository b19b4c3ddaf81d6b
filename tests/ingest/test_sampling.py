import pytest

from facetrail.ingest.sampling import Backoff, FrameSampler


def test_a_25fps_stream_sampled_at_5fps_keeps_every_fifth_frame():
    sampler = FrameSampler(5)
    taken = [i for i in range(100) if sampler.take(i / 25)]
    assert taken == list(range(0, 100, 5))


def test_a_sampler_never_takes_more_than_the_source_offers():
    sampler = FrameSampler(30)
    assert sum(sampler.take(i / 10) for i in range(50)) == 50


def test_after_a_stall_the_sampler_resumes_at_once_without_a_burst():
    sampler = FrameSampler(5)
    assert sampler.take(0.0)
    assert sampler.take(10.0)
    assert not sampler.take(10.04)
    assert sampler.take(10.2)


def test_a_non_positive_rate_is_refused():
    with pytest.raises(ValueError):
        FrameSampler(0)


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = Backoff(initial_s=0.5, factor=2, cap_s=3)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3, 3]
    backoff.reset()
    assert backoff.next_delay() == 0.5
