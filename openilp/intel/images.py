"""Tip attachments: only images, re-encoded from their pixels so no metadata survives.

EXIF (camera serial, GPS position, time, owner name), XMP, IPTC and ICC profiles can identify a
tipster. :func:`strip_image` decodes the image with Pillow, copies only the pixels into a new image
and encodes that as PNG or JPEG: nothing but pixels reaches the store. Other file types are refused.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

__all__ = ["MAX_ATTACHMENT_BYTES", "MAX_PIXELS", "MAX_SIDE_PX", "ALLOWED_FORMATS", "CleanImage", "strip_image"]

#: Largest upload accepted, in bytes.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
#: Largest image accepted, in pixels: 16 megapixels, a phone camera's full picture. Checked from the
#: header before any pixel is decoded (a 5 MB PNG can hold 40 megapixels: 160 MB once decoded).
MAX_PIXELS = 16_000_000
#: Longest side accepted, in pixels.
MAX_SIDE_PX = 10_000
#: Accepted input formats -> output format.
ALLOWED_FORMATS: dict[str, str] = {"JPEG": "JPEG", "PNG": "PNG", "GIF": "PNG", "WEBP": "PNG"}


@dataclass(frozen=True)
class CleanImage:
    content_type: str
    data: bytes


def strip_image(data: bytes) -> CleanImage:
    """Re-encode ``data`` without any metadata; ValueError for non-images, oversized or unsupported files."""
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"attachments must be at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB")
    if not data:
        raise ValueError("the attachment is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ALLOWED_FORMATS:
                raise ValueError(f"only images can be attached (JPEG, PNG, GIF, WebP), not {image.format}")
            if image.width * image.height > MAX_PIXELS or max(image.size) > MAX_SIDE_PX:
                raise ValueError(
                    f"the image is too large ({image.width} × {image.height} pixels; at most "
                    f"{MAX_PIXELS // 1_000_000} megapixels and {MAX_SIDE_PX:,} pixels a side)"
                )
            image.load()
            mode = "RGB" if ALLOWED_FORMATS[image.format] == "JPEG" else "RGBA"
            pixels = image.convert(mode)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError("only images can be attached (JPEG, PNG, GIF, WebP)") from exc
    clean = Image.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    target = "JPEG" if mode == "RGB" else "PNG"
    clean.save(out, format=target, **({"quality": 90} if target == "JPEG" else {}))
    return CleanImage("image/jpeg" if target == "JPEG" else "image/png", out.getvalue())
