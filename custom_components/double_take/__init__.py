"""Double Take: face recognition on Frigate events, inside Home Assistant."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from homeassistant.components import mqtt
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType
from homeassistant.requirements import RequirementsNotFound, async_process_requirements

from .api.detectors import DetectorSettings, LocalDetector, create_detector
from .api.errors import ApiAuthError, ApiError
from .api.frigate import FrigateClient
from .api.local import REQUIREMENTS as LOCAL_REQUIREMENTS
from .const import (
    CONF_API_KEY,
    CONF_CAMERAS,
    CONF_CONCURRENCY,
    CONF_DET_PROB_THRESHOLD,
    CONF_DISTANCE_THRESHOLD,
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_MAX_HEIGHT,
    CONF_TIMEOUT,
    CONF_TYPE,
    CONF_UPSAMPLE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DEFAULT_DET_PROB_THRESHOLD,
    DEFAULT_DETECTOR_CONCURRENCY,
    DEFAULT_DETECTOR_TIMEOUT,
    DEFAULT_DISTANCE_THRESHOLD,
    DEFAULT_MAX_HEIGHT,
    DEFAULT_UPSAMPLE,
    DETECTOR_LOCAL,
    DOMAIN,
    LOCAL_STORAGE_DIR,
    LOGGER,
    STORAGE_DIR,
    SUBENTRY_DETECTOR,
)
from .coordinator import UNKNOWN_PERSON, DoubleTakeCoordinator
from .data import DoubleTakeConfigEntry, DoubleTakeData, configuration_of
from .ids import camera_device_id, detector_device_id, person_device_id
from .index import PersonIndex
from .pipeline import DetectorHandle
from .purge import async_setup_purge
from .services import async_setup_services
from .storage import MediaStore

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.IMAGE,
    Platform.SENSOR,
    Platform.SWITCH,
]
ISSUE_MQTT_MISSING = "mqtt_missing"


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> bool:
    """Connect to Frigate, build the detectors, subscribe to Frigate's events."""
    session = async_get_clientsession(
        hass, verify_ssl=entry.data.get(CONF_VERIFY_SSL, True)
    )
    frigate = frigate_config = None
    if url := entry.data.get(CONF_FRIGATE_URL):
        frigate = FrigateClient(
            session,
            url,
            username=entry.data.get(CONF_FRIGATE_USERNAME, ""),
            password=entry.data.get(CONF_FRIGATE_PASSWORD, ""),
            verify_ssl=entry.data.get(CONF_VERIFY_SSL, True),
        )
        try:
            frigate_config = await frigate.config()
        except ApiAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="frigate_auth_failed"
            ) from err
        except ApiError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="frigate_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err

    subentries = [
        subentry
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_DETECTOR
    ]
    if any(subentry.data[CONF_TYPE] == DETECTOR_LOCAL for subentry in subentries):
        # The local detector's wheels (dlib, models) come only with a local detector.
        try:
            await async_process_requirements(
                hass, DOMAIN, LOCAL_REQUIREMENTS, is_built_in=False
            )
        except RequirementsNotFound as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="local_requirements_failed",
                translation_placeholders={"requirements": ", ".join(err.requirements)},
            ) from err
    detectors = [
        DetectorHandle(
            id=subentry.subentry_id,
            name=subentry.title,
            detector=create_detector(
                subentry.data[CONF_TYPE],
                async_get_clientsession(hass),
                detector_settings(
                    subentry.data,
                    storage_dir=hass.config.path(
                        STORAGE_DIR, LOCAL_STORAGE_DIR, subentry.subentry_id
                    ),
                ),
            ),
            cameras=frozenset(subentry.data.get(CONF_CAMERAS, [])),
            concurrency=int(
                subentry.data.get(CONF_CONCURRENCY, DEFAULT_DETECTOR_CONCURRENCY)
            ),
        )
        for subentry in subentries
    ]
    for handle in detectors:
        if isinstance(handle.detector, LocalDetector):
            _async_start_local_detector(hass, entry, handle.detector)
    store = MediaStore(Path(hass.config.path(STORAGE_DIR)))
    await hass.async_add_executor_job(store.ensure_folders)
    index = PersonIndex(hass, entry.entry_id)
    await index.async_load()
    # Write pending index changes before a reload reads the file again.
    entry.async_on_unload(index.async_save)
    coordinator = DoubleTakeCoordinator(
        hass,
        entry,
        frigate=frigate,
        frigate_config=frigate_config,
        detectors=detectors,
        store=store,
        index=index,
    )
    entry.runtime_data = DoubleTakeData(
        coordinator=coordinator, configured_from=configuration_of(entry)
    )
    entry.async_on_unload(coordinator.async_cancel_runs)
    # Old match and unknown images: purged now and every hour.
    entry.async_on_unload(async_setup_purge(hass, entry))

    if frigate is not None:
        await _async_subscribe_events(hass, entry, coordinator)

    _async_remove_stale_devices(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(coordinator.health.async_start())
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    # Detectors may be slow or down at start: learn their persons in the background.
    entry.async_create_background_task(
        hass, coordinator.async_discover_persons(), "double_take discover persons"
    )
    return True


def _async_start_local_detector(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry, detector: LocalDetector
) -> None:
    """Load its models in the background now; close it on unload and when HA stops.

    The worker process stops with the last local detector closed. Home Assistant does
    not unload entries when it stops, and a worker left running would hold up its exit.
    """

    async def _async_close(_event: Event | None = None) -> None:
        await detector.close()

    entry.async_on_unload(_async_close)
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_close))
    entry.async_create_background_task(
        hass, detector.warm_up(), "double_take local detector warm-up"
    )


async def _async_subscribe_events(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    coordinator: DoubleTakeCoordinator,
) -> None:
    """Subscribe to Frigate's events once MQTT is up; a repair issue says when it is not."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        LOGGER.warning(
            "MQTT is not set up: Frigate events of %s are not processed", entry.title
        )
        ir.async_create_issue(
            hass,
            DOMAIN,
            ISSUE_MQTT_MISSING,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_MQTT_MISSING,
            translation_placeholders={"title": entry.title},
        )
        return
    ir.async_delete_issue(hass, DOMAIN, ISSUE_MQTT_MISSING)
    entry.async_on_unload(await coordinator.async_subscribe())


def detector_settings(
    data: MappingProxyType[str, Any] | dict[str, Any], storage_dir: str = ""
) -> DetectorSettings:
    """Client settings from a detector subentry's data.

    ``storage_dir`` is where a local detector keeps its descriptors (unused by servers).
    """
    return DetectorSettings(
        url=data.get(CONF_URL, ""),
        api_key=data.get(CONF_API_KEY, ""),
        timeout=float(data.get(CONF_TIMEOUT, DEFAULT_DETECTOR_TIMEOUT)),
        det_prob_threshold=float(
            data.get(CONF_DET_PROB_THRESHOLD, DEFAULT_DET_PROB_THRESHOLD)
        ),
        storage_dir=storage_dir if data.get(CONF_TYPE) == DETECTOR_LOCAL else "",
        upsample=int(data.get(CONF_UPSAMPLE, DEFAULT_UPSAMPLE)),
        max_height=int(data.get(CONF_MAX_HEIGHT, DEFAULT_MAX_HEIGHT)),
        distance_threshold=float(
            data.get(CONF_DISTANCE_THRESHOLD, DEFAULT_DISTANCE_THRESHOLD)
        ),
    )


async def _async_entry_updated(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> None:
    """Options apply in place; a changed connection or detector list reloads the entry."""
    if entry.runtime_data.configured_from == configuration_of(entry):
        entry.runtime_data.coordinator.apply_options()
        return
    hass.config_entries.async_schedule_reload(entry.entry_id)


def _current_device_ids(entry: DoubleTakeConfigEntry) -> set[str]:
    """Device identifiers the entry has now: persons, unknown, cameras, detectors."""
    coordinator = entry.runtime_data.coordinator
    cameras = coordinator.frigate_config.cameras if coordinator.frigate_config else {}
    return {
        *(person_device_id(entry.entry_id, name) for name in coordinator.persons),
        person_device_id(entry.entry_id, UNKNOWN_PERSON),
        *(camera_device_id(entry.entry_id, camera) for camera in cameras),
        *(
            detector_device_id(entry.entry_id, handle.id)
            for handle in coordinator.detectors
        ),
    }


def _async_remove_stale_devices(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> None:
    """Remove devices of persons, cameras or detectors that no longer exist."""
    current = _current_device_ids(entry)
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not any(
            domain == DOMAIN and identifier in current
            for domain, identifier in device.identifiers
        ):
            registry.async_remove_device(device.id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device that is stale; a person device also forgets the person."""
    coordinator = entry.runtime_data.coordinator
    for domain, identifier in device.identifiers:
        if domain != DOMAIN:
            continue
        for name in coordinator.persons:
            if identifier == person_device_id(entry.entry_id, name):
                coordinator.async_remove_person(name)
                return True
        if identifier in _current_device_ids(entry):
            return False
    return True


async def async_remove_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> None:
    """Delete the entry's index; images under double_take/ stay (see the README)."""
    await PersonIndex(hass, entry.entry_id).async_remove()


async def async_unload_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> bool:
    """Unload platforms; MQTT, timers and runs are released through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
