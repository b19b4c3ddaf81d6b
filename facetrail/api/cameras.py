"""Configured cameras with their site-plan positions and latest health. Sources (which may hold credentials) are never shown."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from facetrail.api import views
from facetrail.api.context import ApiContext, api_context
from facetrail.api.schemas import Camera, CameraHealthOut, CameraList, Problem
from facetrail.auth.dependencies import Principal, require_roles
from facetrail.auth.roles import OPERATOR

router = APIRouter(prefix=views.API, tags=["cameras"], responses={401: {"model": Problem}, 403: {"model": Problem}})


@router.get("/cameras", response_model=CameraList)
def cameras(principal: Principal = Depends(require_roles(OPERATOR)), ctx: ApiContext = Depends(api_context)) -> CameraList:
    health = {h.camera_id: h for h in ctx.health.all()}
    items = []
    for camera in ctx.config.cameras:
        report = health.get(camera.id)
        items.append(Camera(
            camera_id=camera.id, name=camera.name, x=camera.position.x, y=camera.position.y, live=camera.is_live,
            health=None if report is None else CameraHealthOut(**report.model_dump(
                include={"state", "analysed_fps", "last_frame_at", "reconnects", "lag_s", "faces_detected",
                         "matched_passes", "unmatched_passes", "reported_at"})),
        ))
    return CameraList(site=ctx.config.site, items=items)
