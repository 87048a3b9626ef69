"""Face boxes and names drawn onto an image (blocking Pillow work: run in the executor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import io

from PIL import Image, ImageDraw, ImageOps

from .api.images import MAX_PIXELS

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
    that is larger than MAX_PIXELS (decompression bombs included).
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
    """Decode ``image`` upright as RGB, refusing what is not an image or too large."""
    try:
        with Image.open(io.BytesIO(image)) as source:
            _check_size(*source.size)
            return ImageOps.exif_transpose(source).convert("RGB")
    except UndrawableImageError:
        raise
    except Image.DecompressionBombError as err:
        raise UndrawableImageError(f"decompression bomb refused: {err}") from err
    except Exception as err:  # noqa: BLE001
        # Pillow's decoders raise OSError, SyntaxError, EOFError, struct.error … for
        # broken files; whatever a hostile file triggers is "not an image we can draw".
        raise UndrawableImageError(
            f"cannot decode the image ({type(err).__name__}: {err})"
        ) from err


def _check_size(width: int, height: int) -> None:
    """Refuse images larger than MAX_PIXELS.

    Pillow itself only refuses above 179 million pixels (and warns above 89).
    """
    if width * height > MAX_PIXELS:
        raise UndrawableImageError(
            f"image of {width}×{height} pixels is too large to draw on"
        )


def _clamp(value: int, upper: int) -> int:
    return min(max(0, value), max(0, upper))
