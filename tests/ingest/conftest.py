from pathlib import Path

import av
import numpy as np
import pytest


def write_clip(path: Path, seconds: float = 2.0, fps: int = 25, size=(320, 240)) -> Path:
    """A real H.264 MP4 whose frames carry their own index as brightness."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * fps)):
            image = np.full((size[1], size[0], 3), (i * 5) % 256, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_clip(tmp_path / "clip.mp4")
