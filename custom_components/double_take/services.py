"""The integration's actions (registered once, in ``async_setup``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import probatio as vol

from homeassistant.components.camera import async_get_image
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api.errors import ImageUnavailableError
from .api.http import MAX_IMAGE_BYTES, fetch_image, looks_like_image
from .const import DOMAIN, MANUAL_CAMERA, PROCESSING_PARALLEL, PROCESSING_SERIAL
from .data import DoubleTakeConfigEntry
from .pipeline import ImageSource, RunSettings
from .result import RecognitionResult

SERVICE_RECOGNIZE = "recognize"

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_URL = "url"
ATTR_IMAGE_PATH = "image_path"
ATTR_CAMERA_ENTITY_ID = "camera_entity_id"
ATTR_FRIGATE_EVENT_ID = "frigate_event_id"
ATTR_ATTEMPTS = "attempts"
ATTR_RESULTS = "results"
ATTR_STOP_ON_MATCH = "stop_on_match"
ATTR_PROCESSING = "processing"
ATTR_CAMERA = "camera"
ATTR_ROOM = "room"
SOURCES = (ATTR_URL, ATTR_IMAGE_PATH, ATTR_CAMERA_ENTITY_ID, ATTR_FRIGATE_EVENT_ID)
URL_TIMEOUT = 10.0
# Between attempts on the same source, like Frigate's attempt_delay default.
MANUAL_ATTEMPT_DELAY = 0.5

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


def loaded_entry(hass: HomeAssistant, entry_id: str | None) -> DoubleTakeConfigEntry:
    """Return the entry an action targets: the given one, or the only loaded one."""
    if entry_id is not None:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_found",
                translation_placeholders={"entry_id": entry_id},
            )
        if entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"title": entry.title},
            )
        return entry
    entries: list[DoubleTakeConfigEntry] = hass.config_entries.async_loaded_entries(
        DOMAIN
    )
    if not entries:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_entry"
        )
    if len(entries) > 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="entry_required"
        )
    return entries[0]


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
            delay=MANUAL_ATTEMPT_DELAY if attempts > 1 else 0,
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
        data = await _async_read_image_file(hass, value)
        return ImageSource("manual", 1, _constant(data))
    if kind == ATTR_URL:
        session = async_get_clientsession(hass)
        return ImageSource(
            "manual", attempts, lambda: fetch_image(session, value, timeout=URL_TIMEOUT)
        )
    if kind == ATTR_CAMERA_ENTITY_ID:
        return ImageSource("manual", attempts, lambda: _async_camera_image(hass, value))
    coordinator = entry.runtime_data.coordinator
    if coordinator.frigate is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_frigate"
        )
    return coordinator.frigate_event_source(value, attempts)


async def _async_read_image_file(hass: HomeAssistant, value: str) -> bytes:
    path = Path(value)
    if not path.is_absolute():
        path = Path(hass.config.path(value))
    if not hass.config.is_allowed_path(str(path)):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": value},
        )
    try:
        data = await hass.async_add_executor_job(_read_limited, path)
    except OSError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="file_unreadable",
            translation_placeholders={"path": value, "error": err.strerror or str(err)},
        ) from err
    if not looks_like_image(data):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_an_image",
            translation_placeholders={"path": value},
        )
    return data


def _read_limited(path: Path) -> bytes:
    with path.open("rb") as file:
        data = file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise OSError(f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return data


async def _async_camera_image(hass: HomeAssistant, entity_id: str) -> bytes:
    try:
        image = await async_get_image(hass, entity_id)
    except HomeAssistantError as err:
        raise ImageUnavailableError(f"{entity_id}: {err}") from err
    return image.content


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
