"""Sensors: a person's last camera and last-seen time, and a camera's person count."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorStateClass,
)
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.restore_state import RestoreEntity

from .data import DoubleTakeConfigEntry
from .entity import (
    CameraResultEntity,
    PersonEntity,
    async_setup_camera_entities,
    async_setup_person_entities,
)
from .options import LiveSettings
from .result import FaceHit, RecognitionResult
from .signals import UNKNOWN_PERSON

PARALLEL_UPDATES = 0

# Attributes of the person sensor: the match, as the original MQTT sensor had them.
MATCH_ATTRIBUTES = (
    "confidence",
    "detector",
    "type",
    "box",
    "event_id",
    "zones",
    "room",
    "image",
    "time",
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Person sensors (known persons and ``unknown``) and camera sensors."""

    settings = entry.runtime_data.settings

    def person_entities(name: str) -> Iterable[Entity]:
        yield PersonCameraSensor(entry.entry_id, name)
        if name != UNKNOWN_PERSON:
            yield PersonLastSeenSensor(entry.entry_id, name)

    async_setup_person_entities(
        hass, entry, async_add_entities, person_entities, with_unknown=True
    )
    async_setup_camera_entities(
        entry,
        async_add_entities,
        lambda camera: [CameraPersonsSensor(entry, camera, settings)],
    )


def match_attributes(result: RecognitionResult, hit: FaceHit) -> dict[str, Any]:
    """Describe one match (or unknown face) as attributes."""
    return {
        "confidence": hit.face.confidence,
        "detector": hit.detector,
        "type": hit.type,
        "box": hit.face.box.as_dict(),
        "event_id": result.id,
        "zones": list(result.zones),
        "room": result.room,
        "image": hit.image_path,
        "time": result.time.isoformat(),
    }


class PersonCameraSensor(PersonEntity, SensorEntity, RestoreEntity):
    """``sensor.double_take_NAME``: the camera of the last match, the match as attributes."""

    _attr_name = None
    _attr_translation_key = "person"

    def __init__(self, entry_id: str, name: str) -> None:
        """Create the sensor of ``name``."""
        super().__init__(entry_id, "person", name)
        self._attr_extra_state_attributes = {}

    async def _async_restore(self) -> None:
        """Restore the last match."""
        last = await self.async_get_last_state()
        if last is not None and last.state not in (STATE_UNKNOWN, STATE_UNAVAILABLE):
            self._attr_native_value = last.state
            self._attr_extra_state_attributes = {
                key: last.attributes[key]
                for key in MATCH_ATTRIBUTES
                if key in last.attributes
            }

    @callback
    def _handle_match(self, result: RecognitionResult, hit: FaceHit) -> None:
        self._attr_native_value = result.camera
        self._attr_extra_state_attributes = match_attributes(result, hit)
        self.async_write_ha_state()


class PersonLastSeenSensor(PersonEntity, RestoreSensor):
    """``sensor.double_take_NAME_last_seen``: when the person was last matched."""

    _attr_translation_key = "last_seen"
    _attr_device_class = SensorDeviceClass.TIMESTAMP

    def __init__(self, entry_id: str, name: str) -> None:
        """Create the last-seen sensor of ``name``."""
        super().__init__(entry_id, "last_seen", name)

    async def _async_restore(self) -> None:
        """Restore the last time."""
        if (last := await self.async_get_last_sensor_data()) is not None and isinstance(
            last.native_value, datetime
        ):
            self._attr_native_value = last.native_value

    @callback
    def _handle_match(self, result: RecognitionResult, hit: FaceHit) -> None:
        self._attr_native_value = result.time
        self.async_write_ha_state()


class CameraPersonsSensor(CameraResultEntity, SensorEntity):
    """``sensor.double_take_CAM``: persons in the camera's last result, 0 after camera_reset."""

    _attr_name = None
    _attr_translation_key = "camera"
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_value = 0

    def __init__(
        self, entry: DoubleTakeConfigEntry, camera: str, settings: LiveSettings
    ) -> None:
        """Create the person count of ``camera``."""
        super().__init__(entry, "camera", camera)
        self._settings = settings
        self._attr_extra_state_attributes = _names(None)
        self._cancel_reset: CALLBACK_TYPE | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the camera's results; cancel the reset timer on removal."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_reset_timer)

    @callback
    def _handle_result(self, result: RecognitionResult) -> None:
        self._attr_native_value = result.counts["person"]
        self._attr_extra_state_attributes = _names(result)
        self.async_write_ha_state()
        self._cancel_reset_timer()
        self._cancel_reset = async_call_later(
            self.hass, self._settings.current.camera_reset, self._reset
        )

    @callback
    def _reset(self, _now: datetime) -> None:
        self._cancel_reset = None
        self._attr_native_value = 0
        self._attr_extra_state_attributes = _names(None)
        self.async_write_ha_state()

    @callback
    def _cancel_reset_timer(self) -> None:
        if self._cancel_reset is not None:
            self._cancel_reset()
            self._cancel_reset = None


def _names(result: RecognitionResult | None) -> dict[str, Any]:
    """Names of the camera's last result (empty lists after a reset)."""
    if result is None:
        return {"matches": [], "misses": [], "unknowns": 0, "event_id": None}
    return {
        "matches": [hit.name for hit in result.matches],
        "misses": [hit.name for hit in result.misses],
        "unknowns": len(result.unknowns),
        "event_id": result.id,
    }
