"""The site plan image under the camera markers: uploaded by an admin, kept in the object store.

The admin says how many metres the image spans; its top-left corner is the origin of the
cameras' configured positions, so each marker lands where the camera is in the building.
It shows the building, not people, so viewing it is not audited; uploading and removing it are.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.images import EXTENSIONS, IMAGE_BODY, CheckedImage, checked_image, reencoded, uploaded_image
from facetrail.api.schemas import Problem, SitePlanOut
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import ADMIN, OPERATOR
from facetrail.storage.objects import site_plan_extent_key, site_plan_key

router = APIRouter(prefix=views.API, tags=["cameras"], responses={401: {"model": Problem}, 403: {"model": Problem}})
UPLOAD_PATH = f"{views.API}/site-plan"
METRES = {"gt": 0, "le": 100_000}
NO_PLAN = "no site plan uploaded (an admin can upload one)"


@router.put("/site-plan", response_model=SitePlanOut, openapi_extra=IMAGE_BODY,
            responses={413: {"model": Problem}, 415: {"model": Problem}})
def upload_site_plan(principal: Principal = Depends(require_roles(ADMIN)),
                     width_m: float = Query(description="metres the image spans left to right", **METRES),
                     height_m: float = Query(description="metres the image spans top to bottom", **METRES),
                     image: CheckedImage = Depends(uploaded_image), ctx: ApiContext = Depends(api_context)) -> SitePlanOut:
    with ctx.decode_budget.holding(image.decode_cost):
        # a plan that does not decode is refused now, not shown broken later; what is stored is its pixels alone
        image = reencoded(image, image.pixels())
    plan = SitePlanOut(media_type=image.media_type, width=image.width, height=image.height, width_m=width_m,
                       height_m=height_m)
    ctx.objects.put(site_plan_key(), image.data, image.media_type)
    ctx.objects.put(site_plan_extent_key(), plan.model_dump_json().encode(), "application/json")
    ctx.audit.record(principal.username, "site_plan.upload", "", {**plan.model_dump(), "bytes": len(image.data)})
    return plan


def _stored(ctx: ApiContext, key: str) -> bytes:
    try:
        return ctx.objects.get(key)
    except KeyError:
        raise HTTPException(status_code=404, detail=NO_PLAN) from None


@router.get("/site-plan", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}, 404: {"model": Problem}})
def site_plan(principal: Principal = Depends(require_roles(OPERATOR)), ctx: ApiContext = Depends(api_context)) -> Response:
    data = _stored(ctx, site_plan_key())
    image = checked_image(data, ctx.config.api.max_image_pixels)
    return Response(content=data, media_type=image.media_type, headers={
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="site-plan.{EXTENSIONS[image.media_type]}"'})


@router.get("/site-plan/extent", response_model=SitePlanOut, responses={404: {"model": Problem}})
def site_plan_extent(principal: Principal = Depends(require_roles(OPERATOR)),
                     ctx: ApiContext = Depends(api_context)) -> SitePlanOut:
    return SitePlanOut(**json.loads(_stored(ctx, site_plan_extent_key())))


@router.delete("/site-plan", status_code=204)
def remove_site_plan(principal: Principal = Depends(require_roles(ADMIN)), ctx: ApiContext = Depends(api_context)) -> Response:
    ctx.objects.delete(site_plan_key())
    ctx.objects.delete(site_plan_extent_key())
    ctx.audit.record(principal.username, "site_plan.remove", "")
    return Response(status_code=204)
