"""Dependencies point one way: ingest and analytics never reach into later stages."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "facetrail"

FORBIDDEN = {
    "ingest": ("facetrail.analytics", "facetrail.trajectory", "facetrail.api", "facetrail.cli", "facetrail.worker"),
    "analytics": ("facetrail.trajectory", "facetrail.api", "facetrail.cli", "facetrail.worker"),
    "storage": ("facetrail.api", "facetrail.cli", "facetrail.worker", "facetrail.trajectory.service"),
    "bus": ("facetrail.api", "facetrail.cli", "facetrail.trajectory", "facetrail.analytics"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_a_stage_never_imports_a_later_stage(stage):
    offenders = sorted(
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in (PACKAGE / stage).rglob("*.py")
        for name in _imports(path)
        if name.startswith(FORBIDDEN[stage])
    )
    assert offenders == []
