"""Images uploaded through the API (enrolment photos, the site plan), checked by their bytes before anything decodes
them: JPEG, PNG or WebP only (415 otherwise), and no more pixels than `api.max_image_pixels` (413).

A few kilobytes of PNG can hold 40 megapixels (120 MB decoded), so decoding is also bounded across requests: each
decode holds its pixels' bytes from a `DecodeBudget` sized from the machine's memory, and waits (or is refused with
503) rather than decode beyond it."""

from __future__ import annotations

import io
import os
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
from fastapi import HTTPException, Request
from PIL import Image, UnidentifiedImageError

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Documents the raw image body of an upload route in the OpenAPI description.
IMAGE_BODY = {"requestBody": {"required": True, "content": {
    media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()}}}


# Decoded images held at once: at most this, or an eighth of the machine's memory if that is less. A maximal
# 40-megapixel upload is costed at ~240 MB, so 6300x6300 photos decode one at a time and the rest wait; 12-megapixel
# photos five at a time. (BENCHMARKS.md section 8 measures the API under 16 concurrent maximal uploads.)
DECODE_BUDGET_BYTES = 384 * 2**20
DECODE_WAIT_S = 60.0


class DecodeBudget:
    """A semaphore weighted by bytes: a decode holds the memory its pixels need until it is done with them."""

    def __init__(self, limit_bytes: int, wait_s: float = DECODE_WAIT_S):
        self.limit_bytes, self.wait_s = limit_bytes, wait_s
        self.in_use = 0
        self._free = threading.Condition()

    @staticmethod
    def cost(width: int, height: int) -> int:
        """Bytes one decode needs at its peak: BGR pixels (3 a pixel) and OpenCV's PNG decoder's own buffer of about
        as much again (measured: 228 MB high-water for a 6300x6300 PNG); face detection runs on a shrunk copy."""
        return width * height * 6

    @classmethod
    def sized_from_memory(cls, max_image_pixels: int) -> "DecodeBudget":
        try:
            physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            physical = 8 * DECODE_BUDGET_BYTES
        largest = cls.cost(max_image_pixels, 1)
        return cls(min(DECODE_BUDGET_BYTES, max(physical // 8, largest)))

    @contextmanager
    def holding(self, cost: int) -> Iterator[None]:
        """Wait until `cost` bytes are free (a decode larger than the whole budget waits to run alone); 503 after
        `wait_s`."""
        cost = min(cost, self.limit_bytes)
        deadline = time.monotonic() + self.wait_s
        with self._free:
            while self.in_use + cost > self.limit_bytes:
                left = deadline - time.monotonic()
                if left <= 0 or not self._free.wait(left) and self.in_use + cost > self.limit_bytes:
                    raise HTTPException(status_code=503, headers={"Retry-After": "5"},
                                        detail="the server is decoding other large images: try again shortly")
            self.in_use += cost
        try:
            yield
        finally:
            with self._free:
                self.in_use -= cost
                self._free.notify_all()


@dataclass(frozen=True, eq=False)
class CheckedImage:
    data: bytes
    media_type: str
    width: int
    height: int

    @property
    def decode_cost(self) -> int:
        """Bytes decoding it takes (hold them from the DecodeBudget around pixels() and their use)."""
        return DecodeBudget.cost(self.width, self.height)

    def pixels(self) -> np.ndarray:
        """BGR pixels; 415 when the bytes after a valid header do not decode."""
        image = cv2.imdecode(np.frombuffer(self.data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise HTTPException(status_code=415, detail="the image is damaged: it cannot be decoded")
        return image


# Re-encoding keeps the kind (lossless for PNG and WebP) and drops everything but the pixels: EXIF (GPS), comments,
# colour profiles and any bytes after the image's end, which browsers or other readers might act on.
_REENCODE = {"image/jpeg": (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 92]), "image/png": (".png", []),
             "image/webp": (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101])}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def reencoded(image: CheckedImage, pixels: np.ndarray) -> CheckedImage:
    """The image as its pixels alone, in its own format."""
    extension, params = _REENCODE[image.media_type]
    ok, data = cv2.imencode(extension, pixels, params)
    if not ok:
        raise HTTPException(status_code=415, detail="the image cannot be re-encoded")
    return CheckedImage(data.tobytes(), image.media_type, image.width, image.height)


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
