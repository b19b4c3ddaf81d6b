"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACETRAIL_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"reference data not present at {SHARED} (../shared); this test needs it")
    return SHARED


@pytest.fixture
def write_config(tmp_path):
    """Writes a YAML config into tmp_path and returns its path."""

    def write(text: str, name: str = "facetrail.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
