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
from .data import cameras_of
from .ids import camera_device_id, person_device_id
from .result import FaceHit, RecognitionResult
from .signals import UNKNOWN_PERSON, camera_signal, person_added_signal, person_signal

if TYPE_CHECKING:
    from .data import DoubleTakeConfigEntry

MANUFACTURER = "Double Take"


class DoubleTakeEntity(Entity):
    """Push-updated entity of one entry, named after its device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry_id: str, kind: str, key: str) -> None:
        """``kind`` and ``key`` make the unique id stable across restarts and renames."""
        self.entry_id = entry_id
        self._attr_unique_id = f"{entry_id}:{kind}:{key}"


class PersonEntity(DoubleTakeEntity):
    """An entity of the device "Double Take NAME"."""

    def __init__(self, entry_id: str, kind: str, name: str) -> None:
        """Attach the entity to the person's device."""
        super().__init__(entry_id, kind, name.casefold())
        self.person = name
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, person_device_id(entry_id, name))},
            name=f"Double Take {name}",
            manufacturer=MANUFACTURER,
            model="Unknown faces" if name == UNKNOWN_PERSON else "Person",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Restore what the entity showed before a restart, then follow the person's results."""
        await super().async_added_to_hass()
        await self._async_restore()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                person_signal(self.entry_id, self.person),
                self._handle_match,
            )
        )

    async def _async_restore(self) -> None:
        """Restore the state of the last run (entities that keep none do nothing)."""

    @callback
    def _handle_match(self, result: RecognitionResult, hit: FaceHit) -> None:
        """Show a new match (or unknown face) of this person."""
        raise NotImplementedError


class CameraEntity(DoubleTakeEntity):
    """An entity of the device "Double Take CAM"."""

    def __init__(self, entry: DoubleTakeConfigEntry, kind: str, camera: str) -> None:
        """Attach the entity to the camera's device (Frigate's page is its configuration).

        A camera source of the same name as a Frigate camera shares its device.
        """
        super().__init__(entry.entry_id, kind, camera)
        self.camera = camera
        frigate = entry.runtime_data.frigate
        of_frigate = frigate is not None and camera in frigate.config.cameras
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, camera_device_id(entry.entry_id, camera))},
            name=f"Double Take {camera}",
            manufacturer=MANUFACTURER,
            model="Frigate camera" if of_frigate else "Camera",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=frigate.client.url if frigate and of_frigate else None,
        )


class CameraResultEntity(CameraEntity):
    """A camera entity that shows the camera's recognition results."""

    async def async_added_to_hass(self) -> None:
        """Follow the camera's results."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                camera_signal(self.entry_id, self.camera),
                self._handle_result,
            )
        )

    @callback
    def _handle_result(self, result: RecognitionResult) -> None:
        """Show a new result of this camera."""
        raise NotImplementedError


def async_setup_person_entities(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[str], Iterable[Entity]],
    *,
    with_unknown: bool,
) -> None:
    """Add a platform's entities for every known person now, and for new ones later."""
    names = [
        *entry.runtime_data.persons.names,
        *([UNKNOWN_PERSON] if with_unknown else []),
    ]
    async_add_entities([entity for name in names for entity in factory(name)])

    @callback
    def person_added(name: str) -> None:
        async_add_entities(list(factory(name)))

    entry.async_on_unload(
        async_dispatcher_connect(
            hass, person_added_signal(entry.entry_id), person_added
        )
    )


def async_setup_camera_entities(
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[str], Iterable[Entity]],
) -> None:
    """Add a platform's entities for every camera, now and when Frigate adds one."""
    known: set[str] = set()

    @callback
    def add_new_cameras() -> None:
        new = sorted(cameras_of(entry.runtime_data) - known)
        known.update(new)
        if new:
            async_add_entities([entity for camera in new for entity in factory(camera)])

    add_new_cameras()
    if (frigate := entry.runtime_data.frigate) is not None:
        entry.async_on_unload(frigate.async_add_listener(add_new_cameras))
