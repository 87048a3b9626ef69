"""Device identifiers, shared by the entities, stale-device clean-up and person removal."""

from __future__ import annotations


def person_device_id(entry_id: str, name: str) -> str:
    """Device identifier of a person (``unknown`` included); names compare case-insensitively."""
    return f"{entry_id}:person:{name.casefold()}"


def camera_device_id(entry_id: str, camera: str) -> str:
    """Device identifier of a Frigate camera."""
    return f"{entry_id}:camera:{camera}"


def detector_device_id(entry_id: str, subentry_id: str) -> str:
    """Device identifier of a detector subentry."""
    return f"{entry_id}:detector:{subentry_id}"
