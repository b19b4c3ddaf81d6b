"""The matching rule in force: which model decides, at which threshold, and the false-alert rate it was calibrated for.

Every role may read it: operators weigh an alert by it, enrollers and auditors answer for it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import MatchingOut, OperatingPointOut, Problem
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import ROLES
from facetrail.matching import matching_in_force

router = APIRouter(prefix=views.API, tags=["matching"], responses={401: {"model": Problem}, 403: {"model": Problem}})


@router.get("/matching", response_model=MatchingOut)
def matching(_principal: Principal = Depends(require_roles(*ROLES)), ctx: ApiContext = Depends(api_context)) -> MatchingOut:
    force = matching_in_force(ctx.config, ctx.watchlist)
    point = force.operating_point
    return MatchingOut(
        model=force.model, threshold=force.rule.threshold, max_distance_ratio=force.rule.max_distance_ratio,
        source=force.rule.source, operating_point=None if point is None else OperatingPointOut(
            target_fpir=point.target_fpir, per_search_fpir=point.per_search_fpir, per_pass_fpir=point.per_pass_fpir,
            expected_fnir=point.expected_fnir, cohort_searches=point.cohort_searches,
            calibrated_at=point.calibrated_at, calibrated_by=point.calibrated_by),
        keep_rejected_examples=ctx.config.review.keep_rejected_examples)
