import numpy as np

from facetrail.analytics.motion import MotionGate


def _frame(value: int, noise: int = 0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((360, 640, 3), value, np.int16) + rng.integers(-noise, noise + 1, (360, 640, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def test_the_first_frame_is_never_still():
    assert not MotionGate().still(_frame(100))


def test_a_frame_with_only_sensor_noise_is_still():
    gate = MotionGate()
    gate.still(_frame(100, noise=6, seed=1))
    assert gate.still(_frame(100, noise=6, seed=2))


def test_a_person_entering_is_not_still():
    gate = MotionGate()
    empty = _frame(100)
    gate.still(empty)
    entering = empty.copy()
    entering[100:300, 250:380] = 200  # a figure about a fifth of the picture wide
    assert not gate.still(entering)


def test_a_frame_judged_on_its_detection_downscale_is_judged_as_on_full_resolution():
    from facetrail.analytics.detector import downscale

    rng = np.random.default_rng(3)
    full = [rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8) for _ in range(2)]
    full[1][:] = full[0]
    full[1][300:700, 800:1100] = 255  # a figure entering
    on_full, on_small = MotionGate(), MotionGate()
    verdicts_full = [on_full.still(image) for image in (full[0], full[0], full[1])]
    verdicts_small = [on_small.still(downscale(image, 640).image) for image in (full[0], full[0], full[1])]
    assert verdicts_small == verdicts_full == [False, True, False]


def test_a_lone_small_face_entering_a_1080p_scene_is_not_still():
    gate = MotionGate()
    empty = np.full((1080, 1920, 3), 90, np.uint8)
    gate.still(empty)
    entering = empty.copy()
    entering[500:560, 1300:1360] = 170  # a 60 px face, the size the benchmark clip's walkers start at
    assert not gate.still(entering)
