"""Worker processes split the cores between them for OpenCV's DNN instead of each taking all."""

import cv2
import pytest

from facetrail import worker


@pytest.fixture
def restore_opencv_threads():
    before = cv2.getNumThreads()
    yield
    cv2.setNumThreads(before)


@pytest.mark.parametrize(("cores", "processes", "threads"), [(2, 2, 1), (16, 4, 4), (16, 1, 16), (4, 8, 1)])
def test_each_worker_process_gets_its_share_of_the_cores(monkeypatch, restore_opencv_threads, cores, processes, threads):
    monkeypatch.setattr(worker.os, "cpu_count", lambda: cores)
    worker.share_cores(processes)
    assert cv2.getNumThreads() == threads
