"""The entry's devices: persons, unknown faces, cameras and detectors; stale ones go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .data import cameras_of
from .ids import camera_device_id, detector_device_id, person_device_id
from .signals import UNKNOWN_PERSON

if TYPE_CHECKING:
    from .data import DoubleTakeConfigEntry


def current_device_ids(entry: DoubleTakeConfigEntry) -> set[str]:
    """Device identifiers the entry has now: persons, unknown, cameras, detectors."""
    data = entry.runtime_data
    return {
        *(person_device_id(entry.entry_id, name) for name in data.persons.names),
        person_device_id(entry.entry_id, UNKNOWN_PERSON),
        *(camera_device_id(entry.entry_id, camera) for camera in cameras_of(data)),
        *(detector_device_id(entry.entry_id, handle.id) for handle in data.detectors),
    }


@callback
def async_remove_stale_devices(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> None:
    """Remove devices of persons, cameras or detectors that no longer exist."""
    current = current_device_ids(entry)
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not any(
            domain == DOMAIN and identifier in current
            for domain, identifier in device.identifiers
        ):
            registry.async_remove_device(device.id)


@callback
def async_device_removable(
    entry: DoubleTakeConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Whether the user may delete ``device``; a person's device also forgets the person."""
    persons = entry.runtime_data.persons
    for domain, identifier in device.identifiers:
        if domain != DOMAIN:
            continue
        for name in persons.names:
            if identifier == person_device_id(entry.entry_id, name):
                persons.async_remove(name)
                return True
        if identifier in current_device_ids(entry):
            return False
    return True
