"""Plain data types shared by the detectors, the Frigate client and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

UNKNOWN = "unknown"

# Pixel coordinates and sizes are clamped into 0..MAX_COORDINATE: images are at most
# 40 million pixels (``images.MAX_PIXELS``), so no side is anywhere near it, and a
# detector answering 1e30 gives a number every JSON encoder and MQTT payload can hold.
MAX_COORDINATE = 100_000

# Faces one detection keeps (a crowd has fewer in one camera frame; a hostile answer
# can list a million): the pipeline drops the rest with a warning.
MAX_FACES = 50

# Other persons a detector reports per face (``Face.candidates``): enough for the
# margin to the next person, few enough for every payload.
MAX_CANDIDATES = 3

# TrainOutcome.error for the two image problems every detector reports.
NO_FACE = "no face"
MANY_FACES = "more than one face"


@dataclass(frozen=True, slots=True)
class Box:
    """A face box in pixels of the analyzed image."""

    top: int
    left: int
    width: int
    height: int

    @classmethod
    def from_corners(cls, x_min: Any, y_min: Any, x_max: Any, y_max: Any) -> Box:
        """Build a box from corner coordinates, clamping nonsense to zero."""
        left, top = _px(x_min), _px(y_min)
        return cls(
            top=top,
            left=left,
            width=max(0, _px(x_max) - left),
            height=max(0, _px(y_max) - top),
        )

    @classmethod
    def from_rect(cls, top: Any, left: Any, width: Any, height: Any) -> Box:
        """Build a box from top/left/width/height values, clamping nonsense to zero."""
        return cls(top=_px(top), left=_px(left), width=_px(width), height=_px(height))

    def within(self, width: int, height: int) -> Box:
        """Return this box cut to an image of ``width``×``height`` pixels.

        A box that starts outside the image becomes an empty box at its edge.
        """
        left = min(self.left, max(0, width))
        top = min(self.top, max(0, height))
        return Box(
            top=top,
            left=left,
            width=max(0, min(self.width, width - left)),
            height=max(0, min(self.height, height - top)),
        )

    @property
    def area(self) -> int:
        """Area in square pixels."""
        return self.width * self.height

    def as_dict(self) -> dict[str, int]:
        """JSON form used in results, events and MQTT payloads."""
        return {
            "top": self.top,
            "left": self.left,
            "width": self.width,
            "height": self.height,
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person a detector ranked below its answer for a face."""

    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Face:
    """One face as a detector reported it, normalized.

    ``name`` is the lower-cased subject, or ``UNKNOWN`` when the detector did not know the
    face; ``confidence`` is 0–100 with two decimals.
    """

    name: str
    confidence: float
    box: Box
    candidates: tuple[Candidate, ...] = ()
    """Other persons the detector considered for this face, most confident first (the
    detectors that rank candidates fill it: CompreFace, the local detector); ``min_margin``
    compares the best of them with ``name``."""

    @property
    def known(self) -> bool:
        """Whether the detector put a name on this face."""
        return self.name != UNKNOWN


@dataclass(frozen=True, slots=True)
class TrainingImage:
    """One image to train a person on; ``filename`` identifies it in results."""

    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class TrainOutcome:
    """What a detector did with one training image.

    ``ref`` is the detector's own id of the stored example when it has one (CompreFace
    image id, Facebox teach id); ``error`` is ``None`` on success.
    """

    filename: str
    error: str | None = None
    ref: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the image was trained."""
        return self.error is None


def confidence_percent(value: Any, scale: float = 100.0) -> float:
    """Turn a detector score into 0–100 with two decimals; garbage becomes 0."""
    try:
        score = float(value) * scale
    except TypeError, ValueError, OverflowError:
        # OverflowError: a JSON integer of hundreds of digits.
        return 0.0
    if not math.isfinite(score):
        return 0.0
    return round(min(100.0, max(0.0, score)), 2)


def normalize_name(value: Any) -> str:
    """Lower-case a subject name the way Double Take did; empty or odd becomes unknown."""
    if not isinstance(value, str) or not value.strip():
        return UNKNOWN
    return value.strip().lower()


def _px(value: Any) -> int:
    """Make a pixel coordinate: finite numbers rounded into 0..MAX_COORDINATE, else 0."""
    if isinstance(value, bool):
        return 0
    try:
        number = float(value)
    except TypeError, ValueError, OverflowError:
        return 0
    if not math.isfinite(number):
        return 0
    return round(min(max(0.0, number), MAX_COORDINATE))
