"""Shared entity base: naming, devices and unique ids of Double Take's entities."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import SIGNAL_PERSON_ADDED, UNKNOWN_PERSON, DoubleTakeCoordinator
from .ids import camera_device_id, person_device_id

if TYPE_CHECKING:
    from .data import DoubleTakeConfigEntry

MANUFACTURER = "Double Take"


class DoubleTakeEntity(Entity):
    """Push-updated entity of one entry, named after its device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, coordinator: DoubleTakeCoordinator, kind: str, key: str) -> None:
        """``kind`` and ``key`` make the unique id stable across restarts and renames."""
        self.coordinator = coordinator
        self._attr_unique_id = f"{coordinator.entry.entry_id}:{kind}:{key}"


class PersonEntity(DoubleTakeEntity):
    """An entity of the device "Double Take NAME"."""

    def __init__(
        self, coordinator: DoubleTakeCoordinator, kind: str, name: str
    ) -> None:
        """Attach the entity to the person's device."""
        super().__init__(coordinator, kind, name.casefold())
        self.person = name
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, person_device_id(coordinator.entry.entry_id, name))},
            name=f"Double Take {name}",
            manufacturer=MANUFACTURER,
            model="Unknown faces" if name == UNKNOWN_PERSON else "Person",
            entry_type=DeviceEntryType.SERVICE,
        )


class CameraEntity(DoubleTakeEntity):
    """An entity of the device "Double Take CAM"."""

    def __init__(
        self, coordinator: DoubleTakeCoordinator, kind: str, camera: str
    ) -> None:
        """Attach the entity to the camera's device."""
        super().__init__(coordinator, kind, camera)
        self.camera = camera
        self._attr_device_info = DeviceInfo(
            identifiers={
                (DOMAIN, camera_device_id(coordinator.entry.entry_id, camera))
            },
            name=f"Double Take {camera}",
            manufacturer=MANUFACTURER,
            model="Frigate camera",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=coordinator.frigate.url if coordinator.frigate else None,
        )


def async_setup_person_entities(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[DoubleTakeCoordinator, str], Iterable[Entity]],
    *,
    with_unknown: bool,
) -> None:
    """Add a platform's entities for every known person now, and for new ones later."""
    coordinator = entry.runtime_data.coordinator
    names = [*coordinator.persons, *([UNKNOWN_PERSON] if with_unknown else [])]
    async_add_entities(
        [entity for name in names for entity in factory(coordinator, name)]
    )

    @callback
    def person_added(name: str) -> None:
        async_add_entities(list(factory(coordinator, name)))

    entry.async_on_unload(
        async_dispatcher_connect(
            hass, SIGNAL_PERSON_ADDED.format(entry.entry_id), person_added
        )
    )


def async_setup_camera_entities(
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[DoubleTakeCoordinator, str], Iterable[Entity]],
) -> None:
    """Add a platform's entities for every Frigate camera."""
    coordinator = entry.runtime_data.coordinator
    cameras = coordinator.frigate_config.cameras if coordinator.frigate_config else {}
    async_add_entities(
        [entity for camera in cameras for entity in factory(coordinator, camera)]
    )
