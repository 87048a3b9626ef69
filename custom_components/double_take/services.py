"""The integration's actions (registered once, in ``async_setup``)."""

from __future__ import annotations

from typing import Any

import probatio as vol

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .action_inputs import (
    ATTEMPT_DELAY,
    ATTR_ATTEMPTS,
    ATTR_CAMERA_ENTITY_ID,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_IMAGE_PATH,
    ATTR_URL,
    URL_TIMEOUT,
    async_camera_image,
    async_read_image_file,
    loaded_entry,
)
from .api.http import fetch_image
from .const import DOMAIN, MANUAL_CAMERA, PROCESSING_PARALLEL, PROCESSING_SERIAL
from .data import DoubleTakeConfigEntry
from .pipeline import ImageSource, RunSettings
from .result import RecognitionResult
from .training import async_setup_training_services

SERVICE_RECOGNIZE = "recognize"

ATTR_FRIGATE_EVENT_ID = "frigate_event_id"
ATTR_RESULTS = "results"
ATTR_STOP_ON_MATCH = "stop_on_match"
ATTR_PROCESSING = "processing"
ATTR_CAMERA = "camera"
ATTR_ROOM = "room"
SOURCES = (ATTR_URL, ATTR_IMAGE_PATH, ATTR_CAMERA_ENTITY_ID, ATTR_FRIGATE_EVENT_ID)

RECOGNIZE_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_URL): cv.url,
        vol.Optional(ATTR_IMAGE_PATH): cv.string,
        vol.Optional(ATTR_CAMERA_ENTITY_ID): cv.entity_domain("camera"),
        vol.Optional(ATTR_FRIGATE_EVENT_ID): cv.string,
        vol.Optional(ATTR_ATTEMPTS, default=1): vol.All(
            vol.Coerce(int), vol.Range(1, 20)
        ),
        vol.Optional(ATTR_RESULTS, default="best"): vol.In(["best", "all"]),
        vol.Optional(ATTR_STOP_ON_MATCH, default=True): cv.boolean,
        vol.Optional(ATTR_PROCESSING, default=PROCESSING_PARALLEL): vol.In(
            [PROCESSING_PARALLEL, PROCESSING_SERIAL]
        ),
        vol.Optional(ATTR_CAMERA, default=MANUAL_CAMERA): vol.All(
            cv.string, vol.Length(1, 100)
        ),
        vol.Optional(ATTR_ROOM): vol.All(cv.string, vol.Length(1, 100)),
    }
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions of the integration."""

    async def async_recognize(call: ServiceCall) -> ServiceResponse:
        return await _async_recognize(call)

    hass.services.async_register(
        DOMAIN,
        SERVICE_RECOGNIZE,
        async_recognize,
        schema=RECOGNIZE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_setup_training_services(hass)


async def _async_recognize(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    entry = loaded_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    coordinator = entry.runtime_data.coordinator
    chosen = [key for key in SOURCES if key in call.data]
    if len(chosen) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="one_source",
            translation_placeholders={"sources": ", ".join(SOURCES)},
        )
    attempts: int = call.data[ATTR_ATTEMPTS]
    source = await _async_source(hass, entry, chosen[0], call.data[chosen[0]], attempts)
    if not coordinator.detectors:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_detectors"
        )
    camera: str = call.data[ATTR_CAMERA]
    result = await coordinator.async_recognize(
        camera=camera,
        sources=[source],
        run=RunSettings(
            delay=ATTEMPT_DELAY if attempts > 1 else 0,
            stop_on_match=call.data[ATTR_STOP_ON_MATCH],
            parallel=call.data[ATTR_PROCESSING] == PROCESSING_PARALLEL,
        ),
        room=call.data.get(ATTR_ROOM),
    )
    _raise_if_nothing_analysed(result, chosen[0])
    await coordinator.async_publish(result, frigate_event=False)
    return result.as_dict(include_raw=call.data[ATTR_RESULTS] == "all")


async def _async_source(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    kind: str,
    value: str,
    attempts: int,
) -> ImageSource:
    """Turn the action's source field into an image source, validating it first."""
    if kind == ATTR_IMAGE_PATH:
        data = await async_read_image_file(hass, value)
        return ImageSource("manual", 1, _constant(data))
    if kind == ATTR_URL:
        session = async_get_clientsession(hass)
        return ImageSource(
            "manual", attempts, lambda: fetch_image(session, value, timeout=URL_TIMEOUT)
        )
    if kind == ATTR_CAMERA_ENTITY_ID:
        return ImageSource("manual", attempts, lambda: async_camera_image(hass, value))
    coordinator = entry.runtime_data.coordinator
    if coordinator.frigate is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_frigate"
        )
    return coordinator.frigate_event_source(value, attempts)


def _constant(data: bytes) -> Any:
    async def fetch() -> bytes:
        return data

    return fetch


def _raise_if_nothing_analysed(result: RecognitionResult, source: str) -> None:
    """Raise when a manual run got no image or all its detectors failed."""
    if not result.analysed:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="no_image",
            translation_placeholders={"source": source},
        )
    detections = [d for image in result.analysed for d in image.detections]
    if detections and all(d.error for d in detections):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="detectors_failed",
            translation_placeholders={"error": detections[-1].error or ""},
        )
