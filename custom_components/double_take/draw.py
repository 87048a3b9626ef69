"""Face boxes and names drawn onto an image (blocking Pillow work: run in the executor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import io

from PIL import Image, ImageDraw, ImageOps

COLOURS = {"match": (46, 204, 64), "miss": (255, 193, 7), "unknown": (255, 65, 54)}
JPEG_QUALITY = 85


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
    """Return ``image`` as JPEG with a coloured box and caption for every label."""
    with Image.open(io.BytesIO(image)) as source:
        picture = ImageOps.exif_transpose(source).convert("RGB")
    canvas = ImageDraw.Draw(picture)
    line = max(2, round(min(picture.size) / 200))
    for label in labels:
        colour = COLOURS.get(label.kind, COLOURS["unknown"])
        box = (
            label.left,
            label.top,
            label.left + max(1, label.width),
            label.top + max(1, label.height),
        )
        canvas.rectangle(box, outline=colour, width=line)
        text_top = max(0, label.top - 14)
        canvas.rectangle(
            (label.left, text_top, label.left + 7 * len(label.text) + 6, text_top + 14),
            fill=colour,
        )
        canvas.text((label.left + 3, text_top + 1), label.text, fill=(0, 0, 0))
    output = io.BytesIO()
    picture.save(output, format="JPEG", quality=JPEG_QUALITY)
    return output.getvalue()
