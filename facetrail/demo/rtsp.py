"""Starting and stopping scripts/rtsp_server.py: clips served as RTSP cameras on 127.0.0.1.

The server runs under the system Python (/usr/bin/python3), which has GStreamer's
bindings; scripts/install-rtsp-deps puts them there when they are missing.
"""

from __future__ import annotations

import ctypes
import re
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = REPO / "scripts" / "rtsp_server.py"
INSTALL_SCRIPT = REPO / "scripts" / "install-rtsp-deps"
SYSTEM_PYTHON = "/usr/bin/python3"
_READY = re.compile(r"^ready (rtsp://127\.0\.0\.1:\d+)\s*$")


class RtspServerError(Exception):
    """The RTSP server could not be installed or started; the message says why."""


def install_rtsp_deps(timeout_s: float = 900.0) -> None:
    """Make sure GStreamer's RTSP server is installed (quick when it already is)."""
    try:
        result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RtspServerError(f"{INSTALL_SCRIPT.name} took longer than {timeout_s:.0f} s") from None
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise RtspServerError(f"{INSTALL_SCRIPT.name} failed: {reason[0]}")


def _die_with_parent() -> None:
    """Runs in the child before exec: a killed test run or demo never leaves a server behind."""
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the context manager still stops it on every normal exit
        pass


def _wait_ready(process: subprocess.Popen, timeout_s: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                break
            line = process.stdout.readline()
            if not line:  # the server exited before it was ready
                break
            match = _READY.match(line)
            if match:
                return match.group(1)
    raise RtspServerError("the RTSP server did not report ready")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout:
        process.stdout.close()


@contextmanager
def serve_clips(mounts: dict[str, Path], loop: bool = False, port: int = 0, ready_timeout_s: float = 20.0,
                once: bool = False) -> Iterator[str]:
    """Serve each clip at <base>/<name>; yields the base URL, e.g. rtsp://127.0.0.1:41234.

    Port 0 lets the server take any free port, so parallel runs never collide.
    """
    if not mounts:
        raise RtspServerError("no clips to serve")
    command = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(port)]
    command += [arg for name, clip in mounts.items() for arg in ("--mount", f"{name}={clip}")]
    if loop:
        command.append("--loop")
    if once:
        command.append("--once")
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
                                   text=True, preexec_fn=_die_with_parent)
        try:
            try:
                base = _wait_ready(process, ready_timeout_s)
            except RtspServerError:
                _stop(process)
                errors.seek(0)
                detail = errors.read().strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
                raise RtspServerError(f"the RTSP server did not start: {detail[0]}") from None
            yield base
        finally:
            _stop(process)
