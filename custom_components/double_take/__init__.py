"""Double Take: face recognition on Frigate events, inside Home Assistant."""

from __future__ import annotations

import logging
from pathlib import Path

from homeassistant.components import mqtt
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from .camera_sources import CameraSources, camera_sources_of
from .camera_switches import CameraSwitches
from .const import DOMAIN, STORAGE_DIR
from .data import DoubleTakeConfigEntry, DoubleTakeData, configuration_of
from .detector_config import entry_without_url_credentials
from .detectors import async_build_detectors
from .devices import async_device_removable, async_remove_stale_devices
from .frigate_connection import FrigateConnection, async_connect
from .health import HealthMonitor
from .history import DB_FILE, HistoryStore
from .index import PersonIndex
from .intake import EventIntake
from .mqtt_contract import MqttContract
from .mqtt_snapshots import SnapshotFeed
from .mqtt_socket import async_keep_nodelay
from .options import LiveSettings
from .panel import async_setup_panel, async_unload_panel
from .persons import PersonRegistry
from .pipeline import DetectorHandle, Recognizer
from .publish import ResultPublisher
from .purge import async_setup_purge
from .recorder import ResultRecorder
from .review import async_setup_review_api
from .services import async_setup_services
from .storage import MediaStore

_LOGGER = logging.getLogger(__name__)

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
    """Register the actions and the review API once for all entries."""
    async_setup_services(hass)
    async_setup_review_api(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> bool:
    """Connect to Frigate, build the detectors, subscribe to Frigate's events."""
    frigate = await async_connect(hass, entry)
    detectors = await async_build_detectors(hass, entry)
    storage = await _async_open_storage(hass, entry)
    entry.runtime_data = _runtime_data(
        hass, entry, frigate=frigate, detectors=detectors, storage=storage
    )
    await _async_start(hass, entry)
    await async_setup_panel(hass, entry)
    return True


async def _async_open_storage(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> tuple[MediaStore, PersonIndex, HistoryStore]:
    """Open the image folders, the index and the history.

    A removed detector's trained hashes are dropped from the index.
    """
    root = Path(hass.config.path(STORAGE_DIR))
    media = MediaStore(root)
    history = HistoryStore(root / DB_FILE, entry.entry_id)
    await hass.async_add_executor_job(media.ensure_folders)
    await hass.async_add_executor_job(history.open)

    async def _async_close_history() -> None:
        await hass.async_add_executor_job(history.close)

    entry.async_on_unload(_async_close_history)
    index = PersonIndex(hass, entry.entry_id)
    await index.async_load()
    index.forget_detectors_except(set(entry.subentries))
    # Write pending index changes before a reload reads the file again.
    entry.async_on_unload(index.async_save)
    return media, index, history


def _runtime_data(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    *,
    frigate: FrigateConnection | None,
    detectors: list[DetectorHandle],
    storage: tuple[MediaStore, PersonIndex, HistoryStore],
) -> DoubleTakeData:
    """Wire the entry's collaborators side by side."""
    media, index, history = storage
    settings = LiveSettings(entry.options)
    contract = MqttContract(hass, entry, settings)
    if frigate is not None:
        frigate.client.on_error = contract.frigate_failed
    health = HealthMonitor(hass, entry, detectors, contract.detector_failed)
    persons = PersonRegistry(hass, entry.entry_id, index)
    recognizer = Recognizer(detectors, health.report)
    publisher = ResultPublisher(
        hass,
        entry.entry_id,
        settings=settings,
        media=media,
        persons=persons,
        frigate=frigate.client if frigate else None,
        recorder=ResultRecorder(
            hass, entry.entry_id, history=history, root=media.root, settings=settings
        ),
        contract=contract,
    )
    switches = CameraSwitches()
    snapshots = (
        SnapshotFeed(hass, frigate.config.topic_prefix, settings) if frigate else None
    )
    intake = (
        EventIntake(
            hass,
            entry,
            frigate=frigate,
            settings=settings,
            recognizer=recognizer,
            publisher=publisher,
            switches=switches,
            snapshots=snapshots,
        )
        if frigate
        else None
    )
    camera_sources = CameraSources(
        hass,
        entry,
        camera_sources_of(entry),
        settings=settings,
        recognizer=recognizer,
        publisher=publisher,
        switches=switches,
    )
    return DoubleTakeData(
        settings=settings,
        frigate=frigate,
        detectors=detectors,
        health=health,
        media=media,
        index=index,
        history=history,
        persons=persons,
        recognizer=recognizer,
        publisher=publisher,
        mqtt_contract=contract,
        camera_switches=switches,
        intake=intake,
        snapshots=snapshots,
        camera_sources=camera_sources,
        configured_from=configuration_of(entry),
    )


async def _async_start(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> None:
    """Purge, add the entities, subscribe, watch health and options, find persons."""
    data = entry.runtime_data
    # Old match and unknown images: purged now and every hour.
    entry.async_on_unload(async_setup_purge(hass, entry))
    if data.intake is not None:
        entry.async_on_unload(data.intake.async_stop)
    async_remove_stale_devices(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if data.intake is not None:
        # After the platforms: the camera switches have restored their positions, so
        # the first events of a camera switched off are skipped too.
        await _async_subscribe_events(hass, entry, data.intake)
    # After the platforms too: a camera switched off stays off from the first trigger.
    entry.async_on_unload(data.camera_sources.async_start())
    entry.async_on_unload(data.health.async_start())
    data.mqtt_contract.async_start()
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    # Detectors may be slow or down at start: learn their persons in the background.
    entry.async_create_background_task(
        hass,
        data.persons.async_discover(data.media, data.detectors),
        "double_take discover persons",
    )


async def _async_subscribe_events(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry, intake: EventIntake
) -> None:
    """Subscribe to Frigate's events once MQTT is up; a repair issue says when it is not."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        _LOGGER.warning(
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
    entry.async_on_unload(await intake.async_subscribe())
    if (snapshots := entry.runtime_data.snapshots) is not None:
        entry.async_on_unload(snapshots.async_stop)
        await snapshots.async_start()
    # Results leave without waiting for Nagle's algorithm (docs/mqtt-latency.md).
    entry.async_on_unload(async_keep_nodelay(hass))


async def _async_entry_updated(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> None:
    """Options apply in place; a changed connection or detector list reloads the entry."""
    data = entry.runtime_data
    if data.configured_from == configuration_of(entry):
        data.settings.update(entry.options)
        if data.snapshots is not None:
            await data.snapshots.async_options_changed()
        return
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device that is stale; a person device also forgets the person."""
    return async_device_removable(entry, device)


async def async_remove_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> None:
    """Delete the entry's index; images under double_take/ stay (see the README)."""
    await PersonIndex(hass, entry.entry_id).async_remove()


async def async_migrate_entry(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> bool:
    """1.1 → 1.2: credentials written into the Frigate URL move to the login fields.

    (Home Assistant itself refuses entries of a newer major version.)
    """
    if entry.minor_version < 2:
        moved = entry_without_url_credentials(entry.data, entry.title)
        data, title = moved if moved is not None else (entry.data, entry.title)
        hass.config_entries.async_update_entry(
            entry, data=data, title=title, minor_version=2
        )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> bool:
    """Unload platforms; MQTT, timers and runs are released through async_on_unload."""
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        async_unload_panel(hass, entry)
    return unloaded
