"""Images uploaded through the API (enrolment photos, the site plan), checked by their bytes before anything decodes
them: JPEG, PNG or WebP only (415 otherwise), and no more pixels than `api.max_image_pixels` (413)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from fastapi import HTTPException, Request
from PIL import Image, UnidentifiedImageError

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Documents the raw image body of an upload route in the OpenAPI description.
IMAGE_BODY = {"requestBody": {"required": True, "content": {
    media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()}}}


@dataclass(frozen=True, eq=False)
class CheckedImage:
    data: bytes
    media_type: str
    width: int
    height: int

    def pixels(self) -> np.ndarray:
        """BGR pixels; 415 when the bytes after a valid header do not decode."""
        image = cv2.imdecode(np.frombuffer(self.data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise HTTPException(status_code=415, detail="the image is damaged: it cannot be decoded")
        return image


def _header(data: bytes) -> tuple[str | None, int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            return image.format, image.width, image.height


def checked_image(data: bytes, max_pixels: int) -> CheckedImage:
    if not data:
        raise HTTPException(status_code=422, detail="the request body is empty: send the image file's bytes")
    try:
        kind, width, height = _header(data)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise HTTPException(status_code=413, detail=f"the image has more than {max_pixels} pixels (api.max_image_pixels)") \
            from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        kind, width, height = None, 0, 0
    if kind not in MEDIA_TYPES:
        raise HTTPException(status_code=415, detail="send a JPEG, PNG or WebP image")
    if width * height > max_pixels:
        raise HTTPException(status_code=413, detail=f"the image has {width}x{height} pixels, more than {max_pixels} "
                                                    "(api.max_image_pixels)")
    return CheckedImage(data, MEDIA_TYPES[kind], width, height)


async def uploaded_image(request: Request) -> CheckedImage:
    """The request's raw body as a checked image (its size is bounded by the BodyLimit middleware)."""
    return checked_image(await request.body(), request.app.state.ctx.config.api.max_image_pixels)
