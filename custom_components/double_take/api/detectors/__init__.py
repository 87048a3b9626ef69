"""Face detectors behind one interface, and a factory keyed by their type name."""

from __future__ import annotations

import aiohttp

from .base import Detector, DetectorSettings
from .codeproject import CodeProjectDetector
from .compreface import CompreFaceDetector
from .deepstack import DeepStackDetector
from .facebox import FaceboxDetector
from .local import LocalDetector

DETECTOR_TYPES: dict[str, type[Detector]] = {
    detector.kind: detector
    for detector in (
        CompreFaceDetector,
        DeepStackDetector,
        CodeProjectDetector,
        FaceboxDetector,
        LocalDetector,
    )
}


def create_detector(
    kind: str, session: aiohttp.ClientSession, settings: DetectorSettings
) -> Detector:
    """Build the detector client for ``kind`` (a key of DETECTOR_TYPES)."""
    return DETECTOR_TYPES[kind](session, settings)


__all__ = [
    "DETECTOR_TYPES",
    "CodeProjectDetector",
    "CompreFaceDetector",
    "DeepStackDetector",
    "Detector",
    "DetectorSettings",
    "FaceboxDetector",
    "LocalDetector",
    "create_detector",
]
