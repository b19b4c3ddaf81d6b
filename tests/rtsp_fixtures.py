"""The `rtsp_server` fixture: real RTSP cameras (GStreamer's server) serving clips on 127.0.0.1.

Use it from a conftest with ``from rtsp_fixtures import rtsp_server  # noqa: F401``,
then in a test::

    base = rtsp_server({"cam-a": clip_path}, loop=False)
    url = f"{base}/cam-a"

Every server a test starts is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from facetrail.demo.rtsp import RtspServerError, install_rtsp_deps, serve_clips

_installed: list[bool] = []


def _ensure_installed() -> None:
    if not _installed:
        try:
            install_rtsp_deps()
        except RtspServerError as exc:
            pytest.fail(f"cannot provide the RTSP server: {exc}")
        _installed.append(True)


@pytest.fixture
def rtsp_server() -> Iterator[Callable[..., str]]:
    """Factory: rtsp_server(mounts: dict[str, Path], loop: bool = False) -> base URL."""
    _ensure_installed()
    with ExitStack() as running:

        def start(mounts: dict[str, Path], loop: bool = False, once: bool = False) -> str:
            try:
                return running.enter_context(serve_clips(mounts, loop=loop, once=once))
            except RtspServerError as exc:
                pytest.fail(str(exc))

        yield start
