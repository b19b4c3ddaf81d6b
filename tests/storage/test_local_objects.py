import errno
import os

import pytest

from facetrail.object_keys import ObjectStoreError
from facetrail.storage.objects import LocalObjectStore


def test_a_write_that_runs_out_of_space_leaves_no_partial_file_and_names_the_store_and_path(tmp_path, monkeypatch):
    store = LocalObjectStore(tmp_path / "evidence")
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd):
            self._handle = real_fdopen(fd, "wb")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._handle.close()

        def write(self, data):
            self._handle.write(data[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("facetrail.storage.objects.os.fdopen", lambda fd, mode: FullDisk(fd))
    key = "evidence/cam-a/2026-01-01/0123456789abcdef0123456789abcdef.jpg"
    with pytest.raises(ObjectStoreError) as raised:
        store.put(key, b"x" * 1000)
    message = str(raised.value)
    assert str(tmp_path / "evidence") in message and key in message and "No space left on device" in message
    assert [p.name for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == []
