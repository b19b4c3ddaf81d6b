"""GET /api/v1/matching: the rule in force, as `watchlist list` shows it, for every role."""

from __future__ import annotations

from datetime import datetime, timezone

from facetrail.matching import matching_in_force
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import OperatingPoint

from .conftest import login
from .world import ROLES


def test_every_role_reads_the_models_default_rule_before_any_calibration(module_client, module_world):
    force = matching_in_force(module_world.config, WatchlistStore(module_world.db))
    for role in ROLES:
        body = module_client.get("/api/v1/matching", headers=login(module_client, f"{role}1")).json()
        assert body == {"model": force.model, "threshold": force.rule.threshold,
                        "max_distance_ratio": force.rule.max_distance_ratio, "source": f"{force.model} default",
                        "operating_point": None, "keep_rejected_examples": True}


def test_a_calibrated_operating_point_is_shown_with_the_rates_it_was_measured_at(client, world):
    model = matching_in_force(world.config, WatchlistStore(world.db)).model
    WatchlistStore(world.db).save_operating_point(OperatingPoint(
        model=model, threshold=0.47, max_distance_ratio=0.9, target_fpir=0.003,
        calibrated_at=datetime(2026, 11, 30, tzinfo=timezone.utc), calibrated_by="ops", per_search_fpir=0.0028,
        per_pass_fpir=0.004, expected_fnir=0.02, cohort_searches=2500))
    body = client.get("/api/v1/matching", headers=login(client, "operator1")).json()
    assert (body["threshold"], body["max_distance_ratio"]) == (0.47, 0.9)
    assert body["source"].startswith("calibrated 2026-11-30")
    assert body["operating_point"]["per_pass_fpir"] == 0.004 and body["operating_point"]["cohort_searches"] == 2500
