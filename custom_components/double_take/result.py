"""Classify detector answers and merge them into Double Take's result object (SPEC §4.1).

The result keeps the field names of the original Double Take ``/recognize`` answer so
that automations written for it keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .api.models import UNKNOWN, Face


class FaceKind(StrEnum):
    """How a detected face counts (SPEC §4 step 5)."""

    MATCH = "match"
    MISS = "miss"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Thresholds that decide whether a face is a match, a miss or unknown."""

    confidence: float
    unknown_confidence: float
    min_face_area: int

    def classify(self, face: Face) -> FaceKind:
        """Match = named, confident and large enough; unknown = unnamed or barely confident."""
        if not face.known or face.confidence < self.unknown_confidence:
            return FaceKind.UNKNOWN
        if face.confidence >= self.confidence and face.box.area >= self.min_face_area:
            return FaceKind.MATCH
        return FaceKind.MISS


@dataclass(frozen=True, slots=True)
class Detection:
    """One detector's answer for one image (``error`` set when it failed)."""

    detector: str
    duration: float
    faces: tuple[Face, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysedImage:
    """One image of a run and what every detector said about it."""

    type: str
    attempt: int
    image: bytes
    detections: tuple[Detection, ...]


@dataclass(slots=True)
class FaceHit:
    """A classified face with where it came from; ``image_path`` is set once saved."""

    face: Face
    kind: FaceKind
    detector: str
    type: str
    attempt: int
    duration: float
    image: bytes = field(repr=False)
    image_path: str | None = None

    @property
    def name(self) -> str:
        """The person's name, or ``unknown``."""
        return UNKNOWN if self.kind is FaceKind.UNKNOWN else self.face.name

    def as_dict(self) -> dict[str, Any]:
        """JSON form used in results, events and MQTT payloads."""
        return {
            "name": self.name,
            "confidence": self.face.confidence,
            "match": self.kind is FaceKind.MATCH,
            "box": self.face.box.as_dict(),
            "attempt": self.attempt,
            "detector": self.detector,
            "type": self.type,
            "duration": round(self.duration, 2),
            "image": self.image_path,
        }


@dataclass(slots=True)
class RecognitionResult:
    """Everything one run found, merged: one entry per matched or missed name."""

    id: str
    camera: str
    room: str
    zones: list[str]
    time: datetime
    duration: float
    attempts: int
    matches: list[FaceHit]
    misses: list[FaceHit]
    unknowns: list[FaceHit]
    person_count: int
    analysed: list[AnalysedImage] = field(default_factory=list, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        """Counts as the original reported them (unknown = persons not accounted for)."""
        match, miss = len(self.matches), len(self.misses)
        person = max(self.person_count, match + miss)
        return {
            "person": person,
            "match": match,
            "miss": miss,
            "unknown": max(0, person - match - miss),
        }

    @property
    def best_confidence(self) -> float:
        """Highest match confidence, 0 when nothing matched."""
        return max((hit.face.confidence for hit in self.matches), default=0.0)

    def base_dict(self) -> dict[str, Any]:
        """Fields shared by every payload (everything but the face lists)."""
        return {
            "id": self.id,
            "duration": round(self.duration, 2),
            "time": self.time.isoformat(),
            "attempts": self.attempts,
            "camera": self.camera,
            "room": self.room,
            "zones": list(self.zones),
        }

    def as_dict(self, *, include_raw: bool = False) -> dict[str, Any]:
        """Return the result object of SPEC §4.1; ``include_raw`` adds per-attempt answers."""
        data = self.base_dict()
        data["matches"] = [hit.as_dict() for hit in self.matches]
        data["misses"] = [hit.as_dict() for hit in self.misses]
        data["unknowns"] = [hit.as_dict() for hit in self.unknowns]
        data["counts"] = self.counts
        if include_raw:
            data["results"] = [_raw_dict(image) for image in self.analysed]
        return data


def merge(
    images: Iterable[AnalysedImage], rules: MatchRules
) -> tuple[list[FaceHit], list[FaceHit], list[FaceHit], int]:
    """Best match per name, best miss per name without a match, every unknown face.

    Also returns the person count: the most faces one detector saw in one image.
    """
    best_match: dict[str, FaceHit] = {}
    best_miss: dict[str, FaceHit] = {}
    unknowns: list[FaceHit] = []
    person_count = 0
    for image in images:
        for detection in image.detections:
            person_count = max(person_count, len(detection.faces))
            for face in detection.faces:
                hit = FaceHit(
                    face=face,
                    kind=rules.classify(face),
                    detector=detection.detector,
                    type=image.type,
                    attempt=image.attempt,
                    duration=detection.duration,
                    image=image.image,
                )
                if hit.kind is FaceKind.UNKNOWN:
                    unknowns.append(hit)
                    continue
                table = best_match if hit.kind is FaceKind.MATCH else best_miss
                current = table.get(hit.name)
                if current is None or face.confidence > current.face.confidence:
                    table[hit.name] = hit
    misses = [hit for name, hit in best_miss.items() if name not in best_match]
    unknowns.sort(key=lambda hit: hit.face.confidence, reverse=True)
    return (
        _by_confidence(best_match.values()),
        _by_confidence(misses),
        unknowns,
        person_count,
    )


def _by_confidence(hits: Iterable[FaceHit]) -> list[FaceHit]:
    return sorted(hits, key=lambda hit: hit.face.confidence, reverse=True)


def _raw_dict(image: AnalysedImage) -> dict[str, Any]:
    """Per-attempt raw answers (``results: all``)."""
    return {
        "type": image.type,
        "attempt": image.attempt,
        "detections": [
            {
                "detector": detection.detector,
                "duration": round(detection.duration, 2),
                "error": detection.error,
                "faces": [
                    {
                        "name": face.name,
                        "confidence": face.confidence,
                        "box": face.box.as_dict(),
                    }
                    for face in detection.faces
                ],
            }
            for detection in image.detections
        ],
    }
