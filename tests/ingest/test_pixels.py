import av
import numpy as np

from facetrail.ingest.pixels import to_bgr


def _first_frame(clip) -> av.VideoFrame:
    with av.open(str(clip)) as container:
        return next(container.decode(video=0))


def _textured_frame(fmt: str, size=(64, 48)) -> av.VideoFrame:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=fmt)


def test_a_decoded_h264_frame_converts_to_full_resolution_bgr(clip):
    image = to_bgr(_first_frame(clip))
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8


def test_the_fast_conversion_stays_within_two_grey_levels_of_swscale():
    frame = _textured_frame("yuv420p")
    diff = np.abs(to_bgr(frame).astype(int) - frame.to_ndarray(format="bgr24").astype(int))
    assert diff.mean() < 1.5
    assert np.percentile(diff, 99) <= 4


def test_full_range_frames_are_converted_by_swscale():
    frame = _textured_frame("yuvj420p")
    assert np.array_equal(to_bgr(frame), frame.to_ndarray(format="bgr24"))


def test_odd_sized_frames_are_converted_by_swscale():
    frame = _textured_frame("yuv420p", size=(63, 47))
    assert np.array_equal(to_bgr(frame), frame.to_ndarray(format="bgr24"))
