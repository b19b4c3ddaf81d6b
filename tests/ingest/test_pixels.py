import av
import cv2
import numpy as np
import pytest

from facetrail.ingest.pixels import Pixels


def _first_frame(clip) -> av.VideoFrame:
    with av.open(str(clip)) as container:
        return next(container.decode(video=0))


def _textured_frame(fmt: str, size=(64, 48)) -> av.VideoFrame:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=fmt)


def test_a_decoded_h264_frame_converts_to_full_resolution_bgr(clip):
    image = Pixels.of_video_frame(_first_frame(clip)).bgr
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8


def test_the_fast_conversion_stays_within_two_grey_levels_of_swscale():
    frame = _textured_frame("yuv420p")
    diff = np.abs(Pixels.of_video_frame(frame).bgr.astype(int) - frame.to_ndarray(format="bgr24").astype(int))
    assert diff.mean() < 1.5
    assert np.percentile(diff, 99) <= 4


def test_full_range_frames_are_converted_by_swscale():
    frame = _textured_frame("yuvj420p")
    assert np.array_equal(Pixels.of_video_frame(frame).bgr, frame.to_ndarray(format="bgr24"))


def test_odd_sized_frames_are_converted_by_swscale():
    frame = _textured_frame("yuv420p", size=(63, 47))
    assert np.array_equal(Pixels.of_video_frame(frame).bgr, frame.to_ndarray(format="bgr24"))


def _pixels(frame: av.VideoFrame) -> Pixels:
    return Pixels.of_video_frame(frame)


def _whole_bgr(frame: av.VideoFrame) -> np.ndarray:
    """OpenCV's conversion of a whole yuv420p frame: what a box or a downscale is checked against."""
    return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2BGR_I420)


@pytest.mark.parametrize("box", [(0, 0, 320, 240), (11, 7, 41, 33), (100, 50, 64, 64), (301, 229, 19, 11)])
def test_a_box_converted_alone_equals_the_same_box_of_the_whole_frame(clip, box):
    frame = _first_frame(clip)
    x, y, w, h = box
    assert np.array_equal(_pixels(frame).region(x, y, w, h), _whole_bgr(frame)[y:y + h, x:x + w])


def test_a_box_partly_outside_the_picture_is_clipped_to_it(clip):
    frame = _first_frame(clip)
    assert _pixels(frame).region(300, 220, 50, 50).shape == (20, 20, 3)
    assert _pixels(frame).region(400, 0, 10, 10).size == 0


def test_shrinking_the_planes_stays_within_two_grey_levels_of_shrinking_the_bgr_frame(clip):
    frame = _first_frame(clip)
    from_bgr = cv2.resize(_whole_bgr(frame), (160, 120), interpolation=cv2.INTER_AREA)
    diff = np.abs(_pixels(frame).shrunk(160, 120).astype(int) - from_bgr.astype(int))
    assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 6


def test_the_whole_frame_is_converted_only_when_asked_for(clip):
    frame = _first_frame(clip)
    pixels = _pixels(frame)
    pixels.shrunk(160, 120), pixels.region(10, 10, 20, 20)
    assert "bgr" not in pixels.__dict__
    assert np.array_equal(pixels.bgr, _whole_bgr(frame))


def test_frames_that_opencv_cannot_convert_are_kept_as_bgr():
    frame = _textured_frame("yuvj420p")
    pixels = _pixels(frame)
    assert "bgr" in pixels.__dict__ and np.array_equal(pixels.region(0, 0, 64, 48), frame.to_ndarray(format="bgr24"))
