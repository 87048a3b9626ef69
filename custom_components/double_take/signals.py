"""Dispatcher signals between the result publisher, the person registry and the entities."""

from __future__ import annotations

from homeassistant.util.signal_type import SignalType

from .api.models import UNKNOWN as UNKNOWN_PERSON
from .history import Record
from .result import FaceHit, RecognitionResult

__all__ = ["UNKNOWN_PERSON"]


def person_added_signal(entry_id: str) -> SignalType[str]:
    """Sent with the name of a person seen for the first time: their entities appear."""
    return SignalType(f"double_take_person_added_{entry_id}")


def person_signal(entry_id: str, name: str) -> SignalType[RecognitionResult, FaceHit]:
    """Results of one person (names compare case-insensitively), with their face."""
    return SignalType(f"double_take_person_result_{entry_id}_{name.casefold()}")


def camera_signal(entry_id: str, camera: str) -> SignalType[RecognitionResult]:
    """Results of one camera."""
    return SignalType(f"double_take_camera_result_{entry_id}_{camera}")


def health_signal(entry_id: str) -> SignalType[str]:
    """Sent with a detector id when that detector's health changes."""
    return SignalType(f"double_take_health_{entry_id}")


def history_signal(entry_id: str) -> SignalType[list[Record]]:
    """Sent with the rows of a result just recorded in the history."""
    return SignalType(f"double_take_history_{entry_id}")
