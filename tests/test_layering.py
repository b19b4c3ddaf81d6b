"""Dependencies point one way: no stage reaches into a later one, the shared values sit below every stage, and only
storage touches the database's rows."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "facetrail"

# The watch-list's rules and reviews (facetrail.accountability) sit above storage and below the API and the CLI.
FORBIDDEN = {
    "ingest": ("facetrail.analytics", "facetrail.trajectory", "facetrail.api", "facetrail.cli", "facetrail.worker",
               "facetrail.accountability"),
    "analytics": ("facetrail.trajectory", "facetrail.storage", "facetrail.api", "facetrail.cli", "facetrail.worker",
                  "facetrail.accountability"),
    "bus": ("facetrail.api", "facetrail.cli", "facetrail.trajectory", "facetrail.analytics", "facetrail.accountability"),
    "trajectory": ("facetrail.api", "facetrail.cli", "facetrail.worker", "facetrail.runtime", "facetrail.stores",
                   "facetrail.accountability"),
    "storage": ("facetrail.api", "facetrail.cli", "facetrail.worker", "facetrail.trajectory", "facetrail.audit.log",
                "facetrail.runtime", "facetrail.stores", "facetrail.accountability"),
    "accountability": ("facetrail.api", "facetrail.cli", "facetrail.worker", "facetrail.runtime", "facetrail.stores"),
    "forwarding": ("facetrail.ingest", "facetrail.analytics", "facetrail.trajectory", "facetrail.api", "facetrail.cli",
                   "facetrail.worker", "facetrail.runtime", "facetrail.stores", "facetrail.accountability"),
    # archive jobs are a room of their own: the composition root and the CLI wire them, never the reverse
    "archive": ("facetrail.api", "facetrail.cli", "facetrail.worker", "facetrail.runtime", "facetrail.stores",
                "facetrail.trajectory", "facetrail.accountability"),
}

# The typed values that cross the stages (the sighting event, tracks as stitched and as stored, watch-list entries,
# object keys, health) sit below all of them: a stage may import them, they import no stage and none of the wiring.
SHARED_VALUES = ("events.py", "tracks.py", "watchlist.py", "object_keys.py", "health.py", "names.py")
STAGES_AND_WIRING = ("facetrail.ingest", "facetrail.analytics", "facetrail.bus", "facetrail.trajectory",
                     "facetrail.storage", "facetrail.audit", "facetrail.api", "facetrail.cli", "facetrail.worker",
                     "facetrail.stores", "facetrail.runtime", "facetrail.accountability")


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


@pytest.mark.parametrize("module", SHARED_VALUES)
def test_a_shared_value_module_imports_no_stage(module):
    offenders = sorted(name for name in _imports(PACKAGE / module) if name.startswith(STAGES_AND_WIRING))
    assert offenders == []


def test_only_storage_imports_the_database_rows():
    offenders = sorted(
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        if PACKAGE / "storage" not in path.parents
        for name in _imports(path)
        if name == "facetrail.storage.models" or (name == "facetrail.storage" and "models" in _names_from(path, name))
    )
    assert offenders == []


def _names_from(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text())
    return {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == module
            for alias in node.names}


def test_only_storage_opens_database_sessions():
    offenders = sorted(
        f"{path.relative_to(PACKAGE)}:{node.lineno} calls .session()"
        for path in PACKAGE.rglob("*.py")
        if PACKAGE / "storage" not in path.parents
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "session"
    )
    assert offenders == []
