"""Double Take: face recognition on Frigate events, inside Home Assistant."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

from homeassistant.components import mqtt
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .api.detectors import DetectorSettings, create_detector
from .api.errors import ApiAuthError, ApiError
from .api.frigate import FrigateClient
from .const import (
    CONF_API_KEY,
    CONF_CAMERAS,
    CONF_DET_PROB_THRESHOLD,
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TIMEOUT,
    CONF_TYPE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DEFAULT_DET_PROB_THRESHOLD,
    DEFAULT_DETECTOR_TIMEOUT,
    DOMAIN,
    LOGGER,
    STORAGE_DIR,
    SUBENTRY_DETECTOR,
)
from .coordinator import DoubleTakeCoordinator
from .data import DoubleTakeConfigEntry, DoubleTakeData, configuration_of
from .index import PersonIndex
from .pipeline import DetectorHandle
from .services import async_setup_services
from .storage import MediaStore

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS: list[Platform] = []
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

    detectors = [
        DetectorHandle(
            id=subentry.subentry_id,
            name=subentry.title,
            detector=create_detector(
                subentry.data[CONF_TYPE],
                async_get_clientsession(hass),
                detector_settings(subentry.data),
            ),
            cameras=frozenset(subentry.data.get(CONF_CAMERAS, [])),
        )
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_DETECTOR
    ]
    store = MediaStore(Path(hass.config.path(STORAGE_DIR)))
    await hass.async_add_executor_job(store.ensure_folders)
    index = PersonIndex(hass, entry.entry_id)
    await index.async_load()
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

    if frigate is not None:
        await _async_subscribe_events(hass, entry, coordinator)

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    # Detectors may be slow or down at start: learn their persons in the background.
    entry.async_create_background_task(
        hass, coordinator.async_discover_persons(), "double_take discover persons"
    )
    return True


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
    data: MappingProxyType[str, Any] | dict[str, Any],
) -> DetectorSettings:
    """Client settings from a detector subentry's data."""
    return DetectorSettings(
        url=data.get(CONF_URL, ""),
        api_key=data.get(CONF_API_KEY, ""),
        timeout=float(data.get(CONF_TIMEOUT, DEFAULT_DETECTOR_TIMEOUT)),
        det_prob_threshold=float(
            data.get(CONF_DET_PROB_THRESHOLD, DEFAULT_DET_PROB_THRESHOLD)
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


async def async_remove_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> None:
    """Delete the entry's index; images under double_take/ stay (see the README)."""
    await PersonIndex(hass, entry.entry_id).async_remove()


async def async_unload_entry(hass: HomeAssistant, entry: DoubleTakeConfigEntry) -> bool:
    """Unload platforms; MQTT, timers and runs are released through async_on_unload."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
