"""Runtime data of a config entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .coordinator import DoubleTakeCoordinator

type DoubleTakeConfigEntry = ConfigEntry[DoubleTakeData]


@dataclass(slots=True)
class DoubleTakeData:
    """What a loaded entry holds: its coordinator (detectors, Frigate, settings)."""

    coordinator: DoubleTakeCoordinator
    configured_from: tuple[dict[str, Any], dict[str, dict[str, Any]]]
    """Entry data and detector subentries the entry was set up with (changes reload it)."""


def configuration_of(
    entry: DoubleTakeConfigEntry,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return what a loaded entry depends on besides its options."""
    return dict(entry.data), {
        subentry_id: dict(subentry.data)
        for subentry_id, subentry in entry.subentries.items()
    }
