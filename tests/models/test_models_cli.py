"""`facetrail models`: list, fetch (from a site mirror on 127.0.0.1), import, verify."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from facetrail.models.catalogue import DEFAULT_MODELS, YUNET


@pytest.fixture
def isolated(tmp_path) -> dict[str, str]:
    """No model folder, and a cache of this test's own."""
    env = {k: v for k, v in os.environ.items() if k != "FACETRAIL_MODEL_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    return env


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facetrail.cli.main", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_list_says_where_to_fetch_a_model_that_is_not_found(isolated, tmp_path):
    result = _run("models", "list", "-c", str(tmp_path / "none.yaml"), env=isolated)
    assert result.returncode == 0
    assert "not found (facetrail models fetch yunet-2023mar)" in result.stdout


def test_fetch_without_network_is_one_line_and_a_nonzero_exit(isolated, tmp_path):
    config = tmp_path / "site.yaml"
    config.write_text("models: {mirror: 'http://127.0.0.1:9/models'}\n")  # the discard port: nothing listens
    result = _run("models", "fetch", "-c", str(config), env=isolated)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "facetrail models import" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(p.is_file() for p in (tmp_path / "xdg").rglob("*"))


def test_fetch_from_a_site_mirror_verifies_and_caches_the_default_models(shared_dir, publisher, isolated, tmp_path):
    by_checksum = {}
    for path in (shared_dir / "models").iterdir():
        by_checksum[hashlib.sha256(path.read_bytes()).hexdigest()] = path.read_bytes()
    for model in DEFAULT_MODELS:
        for file in model.files:
            publisher.files[f"/models/{model.name}/{file.file_name}"] = by_checksum[file.sha256]
    config = tmp_path / "site.yaml"
    config.write_text(f"models: {{mirror: '{publisher.url('/models')}'}}\n")
    result = _run("models", "fetch", "-c", str(config), env=isolated)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("downloaded, checksums verified") == len(DEFAULT_MODELS)
    listed = _run("models", "list", "-c", str(config), env=isolated).stdout
    assert f"{YUNET.name}" in listed and "cache:" in listed and listed.count(" cache: ") >= len(DEFAULT_MODELS)
    assert _run("models", "verify", "-c", str(config), env=isolated).returncode == 0


def test_import_takes_a_file_with_a_pinned_checksum_and_refuses_others(shared_dir, isolated, tmp_path):
    config = str(tmp_path / "none.yaml")
    done = _run("models", "import", "-c", config, str(shared_dir / "models" / YUNET.files[0].file_name), env=isolated)
    assert done.returncode == 0 and f"imported as {YUNET.name}/" in done.stdout
    stray = tmp_path / "stray.onnx"
    stray.write_bytes(b"not a model")
    refused = _run("models", "import", "-c", config, str(stray), env=isolated)
    assert refused.returncode == 1 and "matches no file of the catalogue" in refused.stderr


def test_verify_names_a_cached_file_that_was_changed(shared_dir, isolated, tmp_path):
    config = str(tmp_path / "none.yaml")
    _run("models", "import", "-c", config, str(shared_dir / "models" / YUNET.files[0].file_name), env=isolated)
    cached = Path(isolated["XDG_CACHE_HOME"]) / "facetrail" / "models" / YUNET.name / YUNET.files[0].file_name
    cached.write_bytes(cached.read_bytes()[:-1] + b"\x00")
    result = _run("models", "verify", "-c", config, env=isolated)
    assert result.returncode == 1 and "CHANGED" in result.stdout
