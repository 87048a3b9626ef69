"""The local face engine (dlib), its worker process and its descriptor store.

No ``homeassistant`` imports, and no ``dlib``/``numpy`` imports at module level: the
wheels are installed only when a user adds a local detector (``REQUIREMENTS``).
"""

from __future__ import annotations

from .engine import (
    BadImageError,
    FaceEngine,
    FoundFace,
    LocalEngineError,
    distance_to_confidence,
    models_dir,
    shared_engine,
)
from .store import DescriptorStore, DescriptorStoreError, Sample
from .worker import FaceRecord, FaceWorker, shared_worker

REQUIREMENTS = [
    "dlib-bin==20.0.1.post1",
    "face-recognition-models==0.3.0",
    "numpy>=2",
]
"""What the local detector needs besides Home Assistant (about 130 MB, mostly models)."""

__all__ = [
    "REQUIREMENTS",
    "BadImageError",
    "DescriptorStore",
    "DescriptorStoreError",
    "FaceEngine",
    "FaceRecord",
    "FaceWorker",
    "FoundFace",
    "LocalEngineError",
    "Sample",
    "distance_to_confidence",
    "models_dir",
    "shared_engine",
    "shared_worker",
]
