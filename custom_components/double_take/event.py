"""Event entities: one per camera, firing ``match``, ``miss`` and ``unknown``."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import DoubleTakeConfigEntry
from .entity import CameraResultEntity, async_setup_camera_entities
from .publish import face_event_data
from .result import FaceKind, RecognitionResult

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One event entity per Frigate camera."""
    async_setup_camera_entities(
        entry,
        async_add_entities,
        lambda camera: [CameraFaceEvent(entry, camera)],
    )


class CameraFaceEvent(CameraResultEntity, EventEntity):
    """``event.double_take_CAM``: one event per matched or missed name, one for unknowns."""

    _attr_name = None
    _attr_translation_key = "camera"
    _attr_event_types = [kind.value for kind in FaceKind]

    def __init__(self, entry: DoubleTakeConfigEntry, camera: str) -> None:
        """Create the event entity of ``camera``."""
        super().__init__(entry, "event", camera)

    @callback
    def _handle_result(self, result: RecognitionResult) -> None:
        hits = [*result.matches, *result.misses, *result.unknowns[:1]]
        for hit in hits:
            data = face_event_data(result, hit)
            if hit.kind is FaceKind.UNKNOWN:
                data["count"] = len(result.unknowns)
            self._trigger_event(hit.kind.value, data)
            self.async_write_ha_state()
