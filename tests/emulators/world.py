"""The faces the detector emulators "see": real images that remember who is in them.

``FaceWorld.image(FaceSpec("alice", (100, 80, 120, 160)))`` draws a real JPEG (or PNG …)
with Pillow, unique on every call, and registers sha256(bytes) → its faces. A detector
emulator asked about those exact bytes finds those faces; other decodable images show no
face; undecodable bytes are "not an image".

Scoring rule used by every detector emulator: a face compared with a subject trained on
the same identity scores ``face.similarity``; compared with a subject trained on another
identity it scores what ``face.resembles`` says for that identity, by default
``DIFFERENT_PERSON_SIMILARITY``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import hashlib
import io
import random

from PIL import Image, ImageDraw, PngImagePlugin

# Score of a face against a subject trained on a different identity.
DIFFERENT_PERSON_SIMILARITY = 0.3
# Detection probability the emulators report for every face (CompreFace box.probability,
# DeepStack/CPAI detect confidence).
FACE_DETECTION_PROBABILITY = 0.99983

_FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "BMP": "bmp", "WEBP": "webp"}


@dataclass(frozen=True, slots=True)
class FaceSpec:
    """One face in an image.

    ``box`` is (left, top, width, height) in pixels. ``similarity`` is the score a server
    gives when this face is compared with a subject trained on the same identity;
    ``resembles`` gives the scores against other identities, as (identity, score) pairs
    (a look-alike), the others scoring ``DIFFERENT_PERSON_SIMILARITY``.
    """

    identity: str
    box: tuple[int, int, int, int] = (260, 140, 120, 160)
    similarity: float = 0.95
    resembles: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        """Validate the box and the scores."""
        if self.box[2] <= 0 or self.box[3] <= 0:
            raise ValueError(f"face box needs a positive width and height: {self.box}")
        for value in (self.similarity, *(other for _, other in self.resembles)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"similarity must be within 0..1: {value}")

    @property
    def x_min(self) -> int:
        """Left edge."""
        return self.box[0]

    @property
    def y_min(self) -> int:
        """Top edge."""
        return self.box[1]

    @property
    def x_max(self) -> int:
        """Right edge (left + width)."""
        return self.box[0] + self.box[2]

    @property
    def y_max(self) -> int:
        """Bottom edge (top + height)."""
        return self.box[1] + self.box[3]

    @property
    def area(self) -> int:
        """Width × height."""
        return self.box[2] * self.box[3]


def score(face: FaceSpec, trained_identity: str) -> float:
    """Score of ``face`` against one trained example of ``trained_identity``."""
    if face.identity == trained_identity:
        return face.similarity
    return dict(face.resembles).get(trained_identity, DIFFERENT_PERSON_SIMILARITY)


def extension(fmt: str) -> str:
    """Usual filename extension for a Pillow format name (``"JPEG"`` → ``"jpg"``)."""
    fmt = _FORMAT_ALIASES.get(fmt.upper(), fmt.upper())
    return _EXTENSIONS.get(fmt, fmt.lower())


class FaceWorld:
    """Registry of generated images and the faces they show."""

    def __init__(self, seed: int = 0) -> None:
        """Start an empty world; ``seed`` makes the generated pixels reproducible."""
        self._seed = seed
        self._counter = 0
        self._faces: dict[str, tuple[FaceSpec, ...]] = {}

    @staticmethod
    def _key(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def image(
        self, *faces: FaceSpec, size: tuple[int, int] = (640, 480), fmt: str = "JPEG"
    ) -> bytes:
        """Draw a new, unique image showing ``faces``, register it and return its bytes."""
        fmt = _FORMAT_ALIASES.get(fmt.upper(), fmt.upper())
        while True:
            self._counter += 1
            data = self._draw(faces, size, fmt, self._counter)
            if self._key(data) not in self._faces:
                break
        return self.register(data, faces)

    def register(self, data: bytes, faces: Iterable[FaceSpec]) -> bytes:
        """Declare that ``data`` (made elsewhere) shows ``faces``; returns ``data``."""
        self._faces[self._key(data)] = tuple(faces)
        return data

    def faces_in(self, data: bytes) -> list[FaceSpec] | None:
        """Faces in ``data``: registered → its faces; other images → []; not an image → None."""
        if (faces := self._faces.get(self._key(data))) is not None:
            return list(faces)
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
        except OSError, ValueError, SyntaxError, Image.DecompressionBombError:
            return None
        return []

    def _draw(
        self, faces: tuple[FaceSpec, ...], size: tuple[int, int], fmt: str, counter: int
    ) -> bytes:
        rng = random.Random(f"{self._seed}:{counter}")
        width, height = size
        # Low-resolution noise blown up: unique per call, small once compressed.
        noise = Image.frombytes("RGB", (32, 24), rng.randbytes(32 * 24 * 3))
        img = noise.resize(size, Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x0, y0 = rng.randrange(width), rng.randrange(height)
            x1, y1 = x0 + rng.randrange(8, 80), y0 + rng.randrange(8, 80)
            draw.rectangle(
                (x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3))
            )
        for face in faces:
            left, top, w, h = face.box
            draw.ellipse(
                (left, top, left + w, top + h), fill=(224, 172, 105), outline=(0, 0, 0)
            )
            eye_y = top + h * 2 // 5
            for eye_x in (left + w // 3, left + w * 2 // 3):
                r = max(1, w // 16)
                draw.ellipse(
                    (eye_x - r, eye_y - r, eye_x + r, eye_y + r), fill=(30, 30, 30)
                )
            draw.line(
                (left + w // 3, top + h * 3 // 4, left + w * 2 // 3, top + h * 3 // 4),
                fill=(120, 30, 30),
                width=max(1, h // 40),
            )
        buf = io.BytesIO()
        tag = f"double-take-emulator {self._seed}:{counter}"
        if fmt == "JPEG":
            img.save(buf, "JPEG", quality=85, comment=tag)
        elif fmt == "PNG":
            info = PngImagePlugin.PngInfo()
            info.add_text("Comment", tag)
            img.save(buf, "PNG", pnginfo=info)
        else:
            img.save(buf, fmt)
        return buf.getvalue()
