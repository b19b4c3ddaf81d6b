"""Fetching models from a publisher: checksums pinned, downloads resumed, nothing half-written left behind."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from facetrail.models.catalogue import ModelFile, ModelSpec
from facetrail.models.fetch import ModelFetchError, fetch
from facetrail.models.locate import ModelLocator

BODY = bytes(range(256)) * 400  # 100 kB


def _spec(url: str, body: bytes = BODY, sha256: str | None = None) -> ModelSpec:
    file = ModelFile("model.onnx", url, sha256 or hashlib.sha256(body).hexdigest(), len(body))
    return ModelSpec("test-model", "detector", "a test publisher", "MIT", (file,), "test")


def _no_bar(_file):
    return None


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_fetched_model_lands_in_the_cache_with_its_checksum_verified(publisher, tmp_path):
    publisher.files["/m/model.onnx"] = BODY
    locator = ModelLocator((), tmp_path / "cache")
    done = fetch(_spec(publisher.url("/m/model.onnx")), locator, progress=_no_bar)
    assert done.downloaded == 1
    assert done.model.paths[0].read_bytes() == BODY
    assert _files_under(tmp_path / "cache") == [tmp_path / "cache" / "test-model" / "model.onnx"]


def test_a_file_already_in_the_cache_is_not_downloaded_again(publisher, tmp_path):
    publisher.files["/m/model.onnx"] = BODY
    locator = ModelLocator((), tmp_path / "cache")
    fetch(_spec(publisher.url("/m/model.onnx")), locator, progress=_no_bar)
    again = fetch(_spec(publisher.url("/m/model.onnx")), locator, progress=_no_bar)
    assert again.downloaded == 0 and len(publisher.requests) == 1


def test_a_file_whose_checksum_differs_is_refused_and_nothing_is_kept(publisher, tmp_path):
    publisher.files["/m/model.onnx"] = BODY[:-1] + b"\x00"
    locator = ModelLocator((), tmp_path / "cache")
    with pytest.raises(ModelFetchError, match="differs from the pinned"):
        fetch(_spec(publisher.url("/m/model.onnx")), locator, progress=_no_bar)
    assert _files_under(tmp_path / "cache") == []


def test_a_download_cut_short_resumes_where_it_stopped(publisher, tmp_path):
    publisher.files["/m/model.onnx"] = BODY
    publisher.cut_after["/m/model.onnx"] = [30_000, 30_000]
    done = fetch(_spec(publisher.url("/m/model.onnx")), ModelLocator((), tmp_path / "cache"), progress=_no_bar,
                 pause_s=0)
    assert done.model.paths[0].read_bytes() == BODY
    assert [r for _, r in publisher.requests] == [None, "bytes=30000-", "bytes=60000-"]


def test_a_download_that_keeps_breaking_off_fails_clearly_and_leaves_nothing(publisher, tmp_path):
    publisher.files["/m/model.onnx"] = BODY
    publisher.cut_after["/m/model.onnx"] = [1000] * 10
    with pytest.raises(ModelFetchError, match="broke off 3 times"):
        fetch(_spec(publisher.url("/m/model.onnx")), ModelLocator((), tmp_path / "cache"), progress=_no_bar,
              attempts=3, pause_s=0)
    assert _files_under(tmp_path / "cache") == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_network_the_fetch_says_how_to_import_and_writes_nothing(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/m/model.onnx"
    with pytest.raises(ModelFetchError, match="facetrail models import"):
        fetch(_spec(url), ModelLocator((), tmp_path / "cache"), progress=_no_bar, pause_s=0)
    assert _files_under(tmp_path / "cache") == []


def test_a_missing_file_on_the_server_is_named_with_its_status(publisher, tmp_path):
    with pytest.raises(ModelFetchError, match="404"):
        fetch(_spec(publisher.url("/m/absent.onnx")), ModelLocator((), tmp_path / "cache"), progress=_no_bar)
