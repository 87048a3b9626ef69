"""The persistent index (HA ``Store``): known persons and trained images per detector.

Versioned; ``_async_migrate_func`` upgrades older layouts. Holds metadata only, never
image bytes.
"""

from __future__ import annotations

from typing import Any, TypedDict

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from .const import DOMAIN

STORAGE_VERSION = 2
STORAGE_MINOR_VERSION = 1
SAVE_DELAY = 5


class IndexData(TypedDict):
    """Layout of version 2."""

    persons: dict[str, str]
    """Case-folded name → name as first seen (for display)."""
    trained: dict[str, dict[str, dict[str, str | None]]]
    """Detector id → case-folded name → content hash → detector's ref (or None)."""


class _IndexStore(Store[IndexData]):
    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> IndexData:
        """Upgrade version 1 (a plain list of person names) to version 2."""
        if old_major_version == 1:
            names = old_data.get("persons", [])
            return {
                "persons": {
                    name.casefold(): name for name in names if isinstance(name, str)
                },
                "trained": {},
            }
        return {
            "persons": dict(old_data.get("persons") or {}),
            "trained": dict(old_data.get("trained") or {}),
        }


class PersonIndex:
    """Known persons and what each detector was trained on, saved with a short delay."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Bind the index to its entry's storage file."""
        self._store = _IndexStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            minor_version=STORAGE_MINOR_VERSION,
        )
        self._data: IndexData = {"persons": {}, "trained": {}}

    async def async_load(self) -> None:
        """Read the index from disk (an absent file is an empty index)."""
        if (data := await self._store.async_load()) is not None:
            self._data = {
                "persons": dict(data.get("persons") or {}),
                "trained": dict(data.get("trained") or {}),
            }

    async def async_save(self) -> None:
        """Write the index now (instead of after the short delay)."""
        await self._store.async_save(self._data)

    async def async_remove(self) -> None:
        """Delete the index file (when the entry is removed)."""
        await self._store.async_remove()

    @property
    def persons(self) -> list[str]:
        """Display names of all known persons, sorted."""
        return sorted(self._data["persons"].values(), key=str.casefold)

    @property
    def person_count(self) -> int:
        """Number of known persons."""
        return len(self._data["persons"])

    def display_name(self, name: str) -> str | None:
        """Return the stored spelling of ``name`` (compared case-insensitively), if known."""
        return self._data["persons"].get(name.casefold())

    @callback
    def add_person(self, name: str) -> bool:
        """Remember ``name``; returns True when it was new."""
        key = name.casefold()
        if key in self._data["persons"]:
            return False
        self._data["persons"][key] = name
        self._schedule_save()
        return True

    @callback
    def remove_person(self, name: str) -> None:
        """Forget ``name`` and everything trained for it."""
        key = name.casefold()
        self._data["persons"].pop(key, None)
        for by_name in self._data["trained"].values():
            by_name.pop(key, None)
        self._schedule_save()

    def trained(self, detector_id: str, name: str) -> dict[str, str | None]:
        """Content hash → detector ref of the images ``name`` was trained with."""
        return dict(self._data["trained"].get(detector_id, {}).get(name.casefold(), {}))

    @callback
    def record_trained(
        self, detector_id: str, name: str, digest: str, ref: str | None
    ) -> None:
        """Remember that ``detector_id`` learnt the image ``digest`` for ``name``."""
        by_name = self._data["trained"].setdefault(detector_id, {})
        by_name.setdefault(name.casefold(), {})[digest] = ref
        self._schedule_save()

    @callback
    def forget_trained(self, detector_id: str, name: str) -> None:
        """Drop what ``detector_id`` was trained with for ``name``."""
        self._data["trained"].get(detector_id, {}).pop(name.casefold(), None)
        self._schedule_save()

    def trained_counts(self) -> dict[str, int]:
        """Detector id → number of images it was trained with (all persons)."""
        return {
            detector_id: sum(len(digests) for digests in by_name.values())
            for detector_id, by_name in self._data["trained"].items()
        }

    @callback
    def forget_detectors_except(self, detector_ids: set[str]) -> None:
        """Drop what removed detectors were trained with (all but ``detector_ids``)."""
        removed = set(self._data["trained"]) - detector_ids
        for detector_id in removed:
            del self._data["trained"][detector_id]
        if removed:
            self._schedule_save()

    def _schedule_save(self) -> None:
        self._store.async_delay_save(lambda: self._data, SAVE_DELAY)
