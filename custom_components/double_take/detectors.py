"""The detectors of an entry, built from its detector subentries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.requirements import RequirementsNotFound, async_process_requirements

from .api.detectors import LocalDetector, create_detector
from .api.local import REQUIREMENTS as LOCAL_REQUIREMENTS
from .const import (
    CONF_CAMERAS,
    CONF_CONCURRENCY,
    CONF_TYPE,
    DEFAULT_DETECTOR_CONCURRENCY,
    DOMAIN,
    LOCAL_STORAGE_DIR,
    STORAGE_DIR,
    SUBENTRY_DETECTOR,
)
from .detector_config import detector_settings
from .pipeline import DetectorHandle

if TYPE_CHECKING:
    from .data import DoubleTakeConfigEntry


async def async_build_detectors(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> list[DetectorHandle]:
    """One handle per detector subentry; a local detector starts loading its models."""
    subentries = [
        subentry
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_DETECTOR
    ]
    if any(sub.data[CONF_TYPE] == LocalDetector.kind for sub in subentries):
        await _async_install_local(hass)
    handles = [
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
    for handle in handles:
        if isinstance(handle.detector, LocalDetector):
            _async_start_local(hass, entry, handle.detector)
    return handles


async def _async_install_local(hass: HomeAssistant) -> None:
    """Install the local detector's wheels (dlib, models): only an entry with one needs them."""
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


def _async_start_local(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry, detector: LocalDetector
) -> None:
    """Load its models in the background now; close it on unload and when HA stops.

    Home Assistant does not unload entries when it stops, and a worker process left
    running would hold up its exit.
    """

    async def _async_close(_event: Event | None = None) -> None:
        await detector.close()

    entry.async_on_unload(_async_close)
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_close))
    entry.async_create_background_task(
        hass, detector.warm_up(), "double_take local detector warm-up"
    )
