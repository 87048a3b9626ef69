"""Face detectors behind one interface, and a factory keyed by their type name."""

from __future__ import annotations

import aiohttp

from .base import Detector, DetectorSettings, HttpDetector
from .codeproject import CodeProjectDetector
from .compreface import CompreFaceDetector
from .deepstack import DeepStackDetector
from .facebox import FaceboxDetector
from .local import LocalDetector

HTTP_DETECTOR_TYPES: dict[str, type[HttpDetector]] = {
    detector.kind: detector
    for detector in (
        CompreFaceDetector,
        DeepStackDetector,
        CodeProjectDetector,
        FaceboxDetector,
    )
}
"""The detector servers, by type name: built from a session and settings."""

DETECTOR_TYPES: dict[str, type[Detector]] = {
    **HTTP_DETECTOR_TYPES,
    LocalDetector.kind: LocalDetector,
}
"""Every detector class by its type name (``Detector.kind``)."""


def create_detector(
    kind: str, session: aiohttp.ClientSession, settings: DetectorSettings
) -> Detector:
    """Build the detector for ``kind`` (a key of DETECTOR_TYPES).

    The session is HA's shared one; only the detector servers use it.
    """
    if kind == LocalDetector.kind:
        return LocalDetector(settings)
    return HTTP_DETECTOR_TYPES[kind](session, settings)


__all__ = [
    "DETECTOR_TYPES",
    "HTTP_DETECTOR_TYPES",
    "CodeProjectDetector",
    "CompreFaceDetector",
    "DeepStackDetector",
    "Detector",
    "DetectorSettings",
    "FaceboxDetector",
    "HttpDetector",
    "LocalDetector",
    "create_detector",
]
