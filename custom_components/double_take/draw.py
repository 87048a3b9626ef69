"""Face boxes and names drawn onto an image, and face crops (blocking Pillow work: executor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import io

from PIL import Image, ImageDraw

from .api.images import decode_checked
from .api.models import Box

COLOURS = {"match": (46, 204, 64), "miss": (255, 193, 7), "unknown": (255, 65, 54)}
JPEG_QUALITY = 85
MAX_TEXT_LENGTH = 40


class UndrawableImageError(ValueError):
    """The image cannot be decoded, or is too large to decode (the message says which)."""


@dataclass(frozen=True, slots=True)
class Label:
    """One box to draw: where, the text, and how it counted (match/miss/unknown)."""

    left: int
    top: int
    width: int
    height: int
    text: str
    kind: str


def draw_faces(image: bytes, labels: Sequence[Label]) -> bytes:
    """Return ``image`` as JPEG with a coloured box and caption for every label.

    The image is turned upright first (EXIF orientation), as detectors that decode it
    themselves see it. Raises UndrawableImageError for anything Pillow cannot decode or
    that is larger than ``api.images.MAX_PIXELS`` (decompression bombs included).
    """
    picture = _decode(image)
    canvas = ImageDraw.Draw(picture)
    width, height = picture.size
    line = max(2, round(min(picture.size) / 200))
    for label in labels:
        colour = COLOURS.get(label.kind, COLOURS["unknown"])
        # Boxes come from a server: keep them on the canvas whatever it answered.
        left = _clamp(label.left, width - 1)
        top = _clamp(label.top, height - 1)
        right = _clamp(label.left + max(1, label.width), width - 1)
        bottom = _clamp(label.top + max(1, label.height), height - 1)
        canvas.rectangle((left, top, right, bottom), outline=colour, width=line)
        text = label.text[:MAX_TEXT_LENGTH]
        text_top = max(0, top - 14)
        canvas.rectangle(
            (left, text_top, min(width - 1, left + 7 * len(text) + 6), text_top + 14),
            fill=colour,
        )
        canvas.text((left + 3, text_top + 1), text, fill=(0, 0, 0))
    output = io.BytesIO()
    picture.save(output, format="JPEG", quality=JPEG_QUALITY)
    return output.getvalue()


def _decode(image: bytes) -> Image.Image:
    """Decode ``image`` upright as RGB, refusing what is not an image or too large.

    The size rule is the header check's (``check_size``): Pillow itself only refuses
    above 179 million pixels (and warns above 89).
    """
    return decode_checked(image, UndrawableImageError, upright_rgb=True)


def _clamp(value: int, upper: int) -> int:
    return min(max(0, value), max(0, upper))


# A face crop: the box grown by this share of its size on every side, at most this large
# (sharp in a 160 px tile on a 2× phone screen; most camera faces fit without resizing).
CROP_MARGIN = 0.25
CROP_SIZE = 320


def crop_face(image: bytes, box: Box) -> bytes:
    """Return the face in ``box`` with a margin, as a small JPEG (the review grid's tile).

    Raises UndrawableImageError like ``draw_faces``, and for a box outside the image.
    """
    picture = _decode(image)
    width, height = picture.size
    margin_x = round(box.width * CROP_MARGIN)
    margin_y = round(box.height * CROP_MARGIN)
    left = _clamp(box.left - margin_x, width)
    top = _clamp(box.top - margin_y, height)
    right = _clamp(box.left + box.width + margin_x, width)
    bottom = _clamp(box.top + box.height + margin_y, height)
    if right - left < 1 or bottom - top < 1:
        raise UndrawableImageError(f"the face box {box.as_dict()} is outside the image")
    face = picture.crop((left, top, right, bottom))
    face.thumbnail((CROP_SIZE, CROP_SIZE))
    output = io.BytesIO()
    face.save(output, format="JPEG", quality=JPEG_QUALITY)
    return output.getvalue()
