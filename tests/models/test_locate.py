"""Finding a catalogued model's files: by name, alias or checksum, in the configured folder, FACETRAIL_MODEL_DIR, the cache."""

from __future__ import annotations

import hashlib

import pytest

from facetrail.models.catalogue import ModelFile, ModelSpec
from facetrail.models.locate import ModelLocator

XML, BIN = b"<net/>" * 100, bytes(range(200)) * 10


def _file(name: str, body: bytes, alias: str) -> ModelFile:
    return ModelFile(name, "http://publisher.invalid/" + name, hashlib.sha256(body).hexdigest(), len(body), (alias,))


SPEC = ModelSpec("pair", "embedder", "test", "MIT",
                 (_file("net.xml", XML, "net_FP16.xml"), _file("net.bin", BIN, "net_FP16.bin")), "test")


def test_files_are_found_by_their_publishers_names(tmp_path):
    (tmp_path / "net.xml").write_bytes(XML)
    (tmp_path / "net.bin").write_bytes(BIN)
    found = ModelLocator((("models.dir", tmp_path),), tmp_path / "cache").find(SPEC)
    assert found is not None and found.where == "models.dir" and found.path(".bin") == tmp_path / "net.bin"


def test_files_are_found_by_checksum_under_any_name(tmp_path):
    (tmp_path / "a").write_bytes(XML)
    (tmp_path / "b").write_bytes(BIN)
    found = ModelLocator((("FACETRAIL_MODEL_DIR", tmp_path),), tmp_path / "cache").find(SPEC)
    assert found is not None and found.paths == (tmp_path / "a", tmp_path / "b")


def test_a_file_with_the_right_name_but_other_bytes_is_not_used(tmp_path):
    (tmp_path / "net.xml").write_bytes(XML)
    (tmp_path / "net.bin").write_bytes(BIN[:-1] + b"!")
    assert ModelLocator((("models.dir", tmp_path),), tmp_path / "cache").find(SPEC) is None


def test_the_first_folder_holding_every_file_wins_over_the_cache(tmp_path):
    first, cache = tmp_path / "first", tmp_path / "cache"
    for folder in (first, cache / "pair"):
        folder.mkdir(parents=True)
        (folder / "net_FP16.xml").write_bytes(XML)
        (folder / "net_FP16.bin").write_bytes(BIN)
    assert ModelLocator((("models.dir", first),), cache).find(SPEC).where == "models.dir"
    assert ModelLocator((), cache).find(SPEC).where == "cache"


def test_the_environment_folder_is_searched(tmp_path, monkeypatch):
    (tmp_path / "net.xml").write_bytes(XML)
    (tmp_path / "net.bin").write_bytes(BIN)
    monkeypatch.setenv("FACETRAIL_MODEL_DIR", str(tmp_path))
    assert ModelLocator.create(cache=tmp_path / "cache").find(SPEC).where == "FACETRAIL_MODEL_DIR"


def test_a_configured_path_must_hold_the_pinned_bytes(tmp_path):
    (tmp_path / "mine.xml").write_bytes(XML)
    (tmp_path / "mine.bin").write_bytes(BIN)
    locator = ModelLocator((), tmp_path / "cache")
    assert locator.configured(SPEC, tmp_path / "mine.xml").where == "configured path"
    (tmp_path / "mine.bin").write_bytes(b"other")
    assert locator.configured(SPEC, tmp_path / "mine.xml") is None


@pytest.mark.parametrize("name", ["yunet-2023mar", "face-reidentification-retail-0095-fp16",
                                  "face-reidentification-retail-0095-fp16-int8"])
def test_the_reference_models_match_the_catalogues_pins(shared_dir, name):
    from facetrail.models.catalogue import spec

    found = ModelLocator((("models.dir", shared_dir / "models"),), shared_dir / "no-cache").find(spec(name))
    assert found is not None, f"{name} not found in {shared_dir / 'models'} by its pinned checksums"
