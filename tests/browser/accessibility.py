"""axe-core run on a page of the dashboard: the serious and critical violations it finds.

axe is fetched by scripts/fetch-axe into .cache/axe (never served by the app) and evaluated
through the DevTools protocol, so the page keeps its own strict Content-Security-Policy.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def _axe_source() -> str:
    fetched = subprocess.run(["bash", str(REPO / "scripts" / "fetch-axe")], capture_output=True, text=True)
    if fetched.returncode != 0:
        pytest.skip(f"axe-core could not be fetched (scripts/fetch-axe: {fetched.stderr.strip()[-300:]})")
    return Path(fetched.stdout.strip()).read_text()


def serious_violations(page) -> list[str]:
    """'rule: where' for each serious or critical violation on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source() + "\n;true")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {', '.join(n['target'][0] for n in v['nodes'][:5])} - {v['help']}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]
