"""Classify detector answers and merge them into Double Take's result object (SPEC §4.1).

The result keeps the field names of the original Double Take ``/recognize`` answer so
that automations written for it keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
import math
from typing import Any

from .api.models import UNKNOWN, Face


class FaceKind(StrEnum):
    """How a detected face counts (SPEC §4 step 5)."""

    MATCH = "match"
    MISS = "miss"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Thresholds that decide whether a face is a match, a miss or unknown.

    ``min_margin``: a named face must beat the detector's next candidate (another
    person) by this many points, else it is an ambiguous miss. ``min_detectors_agree``:
    a name needs that many detectors matching it in a run (``merge``).
    ``unknown_min_face_area``: smaller unknown faces are not reported at all.
    """

    confidence: float
    unknown_confidence: float
    min_face_area: int
    min_margin: float = 0
    min_detectors_agree: int = 1
    unknown_min_face_area: int = 0

    def classify(self, face: Face) -> FaceKind:
        """Match = named, confident, large enough and clear; unknown = unnamed or unsure."""
        if not face.known or face.confidence < self.unknown_confidence:
            return FaceKind.UNKNOWN
        if (
            face.confidence >= self.confidence
            and face.box.area >= self.min_face_area
            and self._margin(face) >= self.min_margin
        ):
            return FaceKind.MATCH
        return FaceKind.MISS

    def reported(self, face: Face, kind: FaceKind) -> bool:
        """Whether the face is reported (not an unknown face too small to matter)."""
        return (
            kind is not FaceKind.UNKNOWN or face.box.area >= self.unknown_min_face_area
        )

    @staticmethod
    def _margin(face: Face) -> float:
        """Points between the face's name and the detector's next candidate."""
        runner_up = next(
            (other for other in face.candidates if other.name != face.name), None
        )
        return face.confidence - runner_up.confidence if runner_up else math.inf

    def reason(self, face: Face) -> str | None:
        """Why ``face`` is not a match (None when it is one), in the user's terms."""
        if not face.known:
            return "not known to the detector"
        if face.confidence < self.unknown_confidence:
            return (
                f"confidence {face.confidence:g} is below unknown_confidence"
                f" {self.unknown_confidence:g}"
            )
        if face.confidence < self.confidence:
            return (
                f"confidence {face.confidence:g} is below confidence"
                f" {self.confidence:g}"
            )
        if face.box.area < self.min_face_area:
            return (
                f"face area {face.box.area} px² is below min_face_area"
                f" {self.min_face_area} px²"
            )
        if (margin := self._margin(face)) < self.min_margin:
            other = next(c for c in face.candidates if c.name != face.name)
            return (
                f"ambiguous: {other.name} {other.confidence:g} is {margin:g} points"
                f" behind, below min_margin {self.min_margin:g}"
            )
        return None

    def disagreement(self, detectors: int) -> str | None:
        """Why a name matched by ``detectors`` detectors is not a match (None: it is)."""
        if detectors >= self.min_detectors_agree:
            return None
        return (
            f"matched by {detectors} detector{'s' if detectors != 1 else ''}, below"
            f" min_detectors_agree {self.min_detectors_agree}"
        )


@dataclass(frozen=True, slots=True)
class ClassifiedFace:
    """A face as a detector reported it and how it counts, decided once per run."""

    face: Face
    kind: FaceKind

    @property
    def name(self) -> str:
        """The person's name, or ``unknown``."""
        return UNKNOWN if self.kind is FaceKind.UNKNOWN else self.face.name


@dataclass(frozen=True, slots=True)
class Detection:
    """One detector's answer for one image (``error`` set when it failed)."""

    detector: str
    duration: float
    faces: tuple[ClassifiedFace, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AnalyzedImage:
    """One image of a run and what every detector said about it."""

    type: str
    attempt: int
    image: bytes
    detections: tuple[Detection, ...]

    def has_match(self, rules: MatchRules) -> bool:
        """Whether enough detectors (``min_detectors_agree``) matched one name here."""
        matched_by: dict[str, set[str]] = {}
        for detection in self.detections:
            for found in detection.faces:
                if found.kind is FaceKind.MATCH:
                    matched_by.setdefault(found.name, set()).add(detection.detector)
        return any(
            rules.disagreement(len(detectors)) is None
            for detectors in matched_by.values()
        )


@dataclass(frozen=True, slots=True)
class FaceHit:
    """A classified face with where it came from and where its image is saved (if it is)."""

    face: Face
    kind: FaceKind
    detector: str
    type: str
    attempt: int
    duration: float
    image: bytes = field(repr=False)
    image_path: str | None = None
    reason: str | None = None
    """Why a miss is not a match (``MatchRules``)."""

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
            **({"reason": self.reason} if self.kind is FaceKind.MISS else {}),
        }


@dataclass(frozen=True, slots=True)
class RecognitionResult:
    """Everything one run found, merged: one entry per matched or missed name."""

    id: str
    camera: str
    room: str
    zones: tuple[str, ...]
    time: datetime
    duration: float
    attempts: int
    matches: tuple[FaceHit, ...]
    misses: tuple[FaceHit, ...]
    unknowns: tuple[FaceHit, ...]
    person_count: int
    analyzed: tuple[AnalyzedImage, ...] = field(default=(), repr=False)

    def with_image_paths(self, paths: dict[int, str]) -> RecognitionResult:
        """Return a copy whose hits carry the saved image paths (keyed by ``id(hit)``)."""

        def saved(hits: tuple[FaceHit, ...]) -> tuple[FaceHit, ...]:
            return tuple(
                replace(hit, image_path=paths[id(hit)]) if id(hit) in paths else hit
                for hit in hits
            )

        return replace(
            self,
            matches=saved(self.matches),
            misses=saved(self.misses),
            unknowns=saved(self.unknowns),
        )

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

    def as_dict(
        self,
        *,
        include_raw: bool = False,
        face: Callable[[FaceHit], dict[str, Any]] = FaceHit.as_dict,
    ) -> dict[str, Any]:
        """Return the result object of SPEC §4.1; ``include_raw`` adds per-attempt answers.

        ``face`` turns each face into JSON (the MQTT payloads add the original's names).
        """
        data = self.base_dict()
        data["matches"] = [face(hit) for hit in self.matches]
        data["misses"] = [face(hit) for hit in self.misses]
        data["unknowns"] = [face(hit) for hit in self.unknowns]
        data["counts"] = self.counts
        if include_raw:
            data["results"] = [_raw_dict(image) for image in self.analyzed]
        return data


def merge(
    images: Iterable[AnalyzedImage], rules: MatchRules
) -> tuple[tuple[FaceHit, ...], tuple[FaceHit, ...], tuple[FaceHit, ...], int]:
    """Best match per name, best miss per name without a match, every unknown face.

    A name matched by fewer detectors than ``min_detectors_agree`` (over the whole run)
    is a miss. Each miss says why. Also returns the person count: the most faces one
    detector saw in one image.
    """
    best_match: dict[str, FaceHit] = {}
    best_miss: dict[str, FaceHit] = {}
    matched_by: dict[str, set[str]] = {}
    unknowns: list[FaceHit] = []
    person_count = 0
    for image in images:
        for detection in image.detections:
            person_count = max(person_count, len(detection.faces))
            for found in detection.faces:
                hit = FaceHit(
                    face=found.face,
                    kind=found.kind,
                    detector=detection.detector,
                    type=image.type,
                    attempt=image.attempt,
                    duration=detection.duration,
                    image=image.image,
                )
                if hit.kind is FaceKind.UNKNOWN:
                    unknowns.append(hit)
                    continue
                if hit.kind is FaceKind.MATCH:
                    matched_by.setdefault(hit.name, set()).add(hit.detector)
                else:
                    hit = replace(hit, reason=rules.reason(hit.face))
                table = best_match if hit.kind is FaceKind.MATCH else best_miss
                current = table.get(hit.name)
                if current is None or hit.face.confidence > current.face.confidence:
                    table[hit.name] = hit
    for name, hit in list(best_match.items()):
        if (why := rules.disagreement(len(matched_by[name]))) is not None:
            del best_match[name]
            best_miss[name] = replace(hit, kind=FaceKind.MISS, reason=why)
    misses = [hit for name, hit in best_miss.items() if name not in best_match]
    return (
        _by_confidence(best_match.values()),
        _by_confidence(misses),
        _by_confidence(unknowns),
        person_count,
    )


def _by_confidence(hits: Iterable[FaceHit]) -> tuple[FaceHit, ...]:
    return tuple(sorted(hits, key=lambda hit: hit.face.confidence, reverse=True))


def _raw_dict(image: AnalyzedImage) -> dict[str, Any]:
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
                        "name": found.face.name,
                        "confidence": found.face.confidence,
                        "box": found.face.box.as_dict(),
                    }
                    for found in detection.faces
                ],
            }
            for detection in image.detections
        ],
    }
