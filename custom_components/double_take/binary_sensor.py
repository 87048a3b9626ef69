"""Binary sensors: a person's presence, and each detector's connectivity (diagnostic)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .data import DoubleTakeConfigEntry
from .entity import (
    MANUFACTURER,
    DoubleTakeEntity,
    PersonEntity,
    async_setup_person_entities,
)
from .health import HealthMonitor
from .ids import detector_device_id
from .options import LiveSettings
from .pipeline import DetectorHandle
from .result import FaceHit, RecognitionResult

PARALLEL_UPDATES = 0
ATTR_UNTIL = "until"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Presence per person; connectivity per detector (attached to its subentry)."""
    data = entry.runtime_data
    async_setup_person_entities(
        hass,
        entry,
        async_add_entities,
        lambda name: [PersonPresenceSensor(entry.entry_id, name, data.settings)],
        with_unknown=False,
    )
    for handle in data.detectors:
        async_add_entities(
            [DetectorConnectivitySensor(entry.entry_id, handle, data.health)],
            config_subentry_id=handle.id,
        )


class PersonPresenceSensor(PersonEntity, BinarySensorEntity, RestoreEntity):
    """``binary_sensor.double_take_NAME_presence``: on for presence_timeout after a match."""

    _attr_translation_key = "presence"
    _attr_device_class = BinarySensorDeviceClass.OCCUPANCY
    _attr_is_on = False

    def __init__(self, entry_id: str, name: str, settings: LiveSettings) -> None:
        """Create the presence of ``name``."""
        super().__init__(entry_id, "presence", name)
        self._settings = settings
        self._until: datetime | None = None
        self._cancel_off: CALLBACK_TYPE | None = None

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When presence ends (kept so a restart restores it correctly)."""
        return {ATTR_UNTIL: self._until.isoformat() if self._until else None}

    async def async_added_to_hass(self) -> None:
        """Restore, follow matches, and cancel the timer on removal."""
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_timer)

    async def _async_restore(self) -> None:
        """Restore a presence that has not expired yet."""
        last = await self.async_get_last_state()
        until = (
            dt_util.parse_datetime(str(last.attributes.get(ATTR_UNTIL)))
            if last
            else None
        )
        if until is not None and until > dt_util.utcnow():
            self._present_until(until)

    @callback
    def _handle_match(self, result: RecognitionResult, hit: FaceHit) -> None:
        timeout = timedelta(seconds=self._settings.current.presence_timeout)
        self._present_until(dt_util.utcnow() + timeout)
        self.async_write_ha_state()

    @callback
    def _present_until(self, until: datetime) -> None:
        self._cancel_timer()
        self._attr_is_on = True
        self._until = until
        self._cancel_off = async_track_point_in_utc_time(self.hass, self._absent, until)

    @callback
    def _absent(self, _now: datetime) -> None:
        self._cancel_off = None
        self._attr_is_on = False
        self._until = None
        self.async_write_ha_state()

    @callback
    def _cancel_timer(self) -> None:
        if self._cancel_off is not None:
            self._cancel_off()
            self._cancel_off = None


class DetectorConnectivitySensor(DoubleTakeEntity, BinarySensorEntity):
    """Whether a detector answers: from real calls and periodic checks (diagnostic)."""

    _attr_translation_key = "detector"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(
        self, entry_id: str, handle: DetectorHandle, health: HealthMonitor
    ) -> None:
        """Create the connectivity sensor of one detector subentry."""
        super().__init__(entry_id, "detector", handle.id)
        self._detector_id = handle.id
        self._health = health
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, detector_device_id(entry_id, handle.id))},
            name=handle.name,
            manufacturer=MANUFACTURER,
            model=f"{handle.kind} detector",
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def is_on(self) -> bool | None:
        """Connected, disconnected, or unknown before the first call."""
        return self._health.states[self._detector_id].available

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The last error and since when the detector fails."""
        state = self._health.states[self._detector_id]
        return {
            "error": state.error,
            "failing_since": state.failing_since.isoformat()
            if state.failing_since
            else None,
        }

    async def async_added_to_hass(self) -> None:
        """Follow health changes."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, self._health.signal, self._handle_health
            )
        )

    @callback
    def _handle_health(self, detector_id: str) -> None:
        if detector_id == self._detector_id:
            self.async_write_ha_state()
