"""Switches: recognition on or off per camera (replaces Double Take's schedules)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .camera_switches import CameraSwitches
from .data import DoubleTakeConfigEntry
from .entity import CameraEntity, async_setup_camera_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One recognition switch per camera (Frigate's and camera sources')."""
    switches = entry.runtime_data.camera_switches
    async_setup_camera_entities(
        entry,
        async_add_entities,
        lambda camera: [CameraRecognitionSwitch(entry, camera, switches)],
    )


class CameraRecognitionSwitch(CameraEntity, SwitchEntity, RestoreEntity):
    """``switch.double_take_CAM_recognition``: off skips the camera's events and triggers."""

    _attr_translation_key = "recognition"
    _attr_is_on = True

    def __init__(
        self, entry: DoubleTakeConfigEntry, camera: str, switches: CameraSwitches
    ) -> None:
        """Create the switch of ``camera``."""
        super().__init__(entry, "recognition", camera)
        self._switches = switches

    async def async_added_to_hass(self) -> None:
        """Restore the last position (on by default)."""
        await super().async_added_to_hass()
        if (
            last := await self.async_get_last_state()
        ) is not None and last.state == STATE_OFF:
            self._set(False)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Recognize this camera's images again."""
        self._set(True)
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Skip this camera's events and triggers."""
        self._set(False)
        self.async_write_ha_state()

    def _set(self, on: bool) -> None:
        self._attr_is_on = on
        self._switches.set_enabled(self.camera, on)
