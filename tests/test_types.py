"""The pure core and its wiring type-check under mypy --strict (files and settings: [tool.mypy] in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_typed_core_passes_mypy_strict():
    checked = subprocess.run([sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, f"mypy found type errors:\n{checked.stdout}{checked.stderr}"
