"""The integration's actions, registered once in ``async_setup`` (SPEC §6.5).

``recognize`` runs the recognition pipeline on an image the caller names; ``train``,
``remove`` and ``purge`` manage what the detectors know and what is kept on disk. Those
three are admin actions: teaching the system a face (face-unlock automations) or
forgetting one is not for every user who may call actions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
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
from homeassistant.helpers.service import (
    async_get_config_entry,
    async_register_admin_service,
)

from .api.sources import FixedImage, FrigateImage, ImageSource, UrlImage
from .areas import room_for
from .const import (
    DOMAIN,
    MANUAL_CAMERA,
    PROCESSING_PARALLEL,
    PROCESSING_SERIAL,
    SOURCE_MANUAL,
)
from .data import DoubleTakeConfigEntry, DoubleTakeData, require_detectors
from .evaluate_action import async_evaluate
from .pipeline import ImageLoop, Job, RunSettings
from .publish import listed
from .purge import async_purge
from .result import RecognitionResult
from .sources import (
    ATTEMPT_DELAY,
    CameraEntityImage,
    ImageFile,
    async_iter_images,
    async_read_image_file,
)
from .training import (
    Trainer,
    async_train_person,
    train_lock,
    trainable_name,
    valid_name,
)

SERVICE_RECOGNIZE = "recognize"
SERVICE_TRAIN = "train"
SERVICE_REMOVE = "remove"
SERVICE_PURGE = "purge"
SERVICE_EVALUATE = "evaluate"

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_URL = "url"
ATTR_IMAGE_PATH = "image_path"
ATTR_CAMERA_ENTITY_ID = "camera_entity_id"
ATTR_FRIGATE_EVENT_ID = "frigate_event_id"
ATTR_FRIGATE_CAMERA = "frigate_camera"
ATTR_RESULT_ID = "result_id"
ATTR_ATTEMPTS = "attempts"
ATTR_RESULTS = "results"
ATTR_STOP_ON_MATCH = "stop_on_match"
ATTR_PROCESSING = "processing"
ATTR_CAMERA = "camera"
ATTR_ROOM = "room"
ATTR_NAME = "name"
RECOGNIZE_SOURCES = (
    ATTR_URL,
    ATTR_IMAGE_PATH,
    ATTR_CAMERA_ENTITY_ID,
    ATTR_FRIGATE_EVENT_ID,
)
MAX_SOURCES = 50


_ATTEMPTS = vol.All(vol.Coerce(int), vol.Range(1, 20))
RECOGNIZE_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_URL): cv.url,
        vol.Optional(ATTR_IMAGE_PATH): cv.string,
        vol.Optional(ATTR_CAMERA_ENTITY_ID): cv.entity_domain("camera"),
        vol.Optional(ATTR_FRIGATE_EVENT_ID): cv.string,
        vol.Optional(ATTR_ATTEMPTS, default=1): _ATTEMPTS,
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
TRAIN_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_NAME): cv.string,
        vol.Optional(ATTR_URL): vol.All(
            cv.ensure_list, vol.Length(max=MAX_SOURCES), [cv.url]
        ),
        vol.Optional(ATTR_IMAGE_PATH): vol.All(
            cv.ensure_list, vol.Length(max=MAX_SOURCES), [cv.string]
        ),
        vol.Optional(ATTR_CAMERA_ENTITY_ID): cv.entity_domain("camera"),
        vol.Optional(ATTR_FRIGATE_CAMERA): cv.string,
        vol.Optional(ATTR_RESULT_ID): vol.All(
            cv.ensure_list, vol.Length(max=MAX_SOURCES), [vol.Coerce(int)]
        ),
        vol.Optional(ATTR_ATTEMPTS, default=1): _ATTEMPTS,
    }
)
REMOVE_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_NAME): cv.string,
    }
)
PURGE_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})
ATTR_DETECTOR = "detector"
ATTR_UNKNOWN_PATH = "unknown_path"
EVALUATE_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Optional(ATTR_DETECTOR): cv.string,
        vol.Optional(ATTR_UNKNOWN_PATH): cv.string,
    }
)


def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions: ``recognize`` for every user, the others for admins only."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_RECOGNIZE,
        _async_recognize,
        schema=RECOGNIZE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    for service, handler, schema in (
        (SERVICE_TRAIN, _async_train, TRAIN_SCHEMA),
        (SERVICE_REMOVE, _async_remove, REMOVE_SCHEMA),
        (SERVICE_PURGE, _async_purge, PURGE_SCHEMA),
        (SERVICE_EVALUATE, _async_evaluate, EVALUATE_SCHEMA),
    ):
        # A non-admin user's call raises Unauthorized (automations and scripts run
        # without a user and are allowed).
        async_register_admin_service(
            hass,
            DOMAIN,
            service,
            handler,
            schema=schema,
            supports_response=SupportsResponse.OPTIONAL,
        )


def _entry_data(call: ServiceCall, *, need_detectors: bool = False) -> DoubleTakeData:
    """Return the runtime data of the targeted entry: the given one, or the only one."""
    entry: DoubleTakeConfigEntry = async_get_config_entry(
        call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID)
    )
    if need_detectors:
        require_detectors(entry.runtime_data)
    return entry.runtime_data


# -- recognize -------------------------------------------------------------------------


async def _async_recognize(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    chosen = [key for key in RECOGNIZE_SOURCES if key in call.data]
    if len(chosen) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="one_source",
            translation_placeholders={"sources": ", ".join(RECOGNIZE_SOURCES)},
        )
    data = _entry_data(call)
    attempts: int = call.data[ATTR_ATTEMPTS]
    loop = await _async_recognize_loop(hass, data, chosen[0], call.data)
    require_detectors(data)
    camera: str = call.data[ATTR_CAMERA]
    settings = data.settings.for_camera(camera)
    result = await data.recognizer.recognize(
        Job(
            camera=camera,
            # The default camera name is no place: no room unless one is given.
            room=call.data.get(ATTR_ROOM)
            or ("" if camera == MANUAL_CAMERA else room_for(hass, camera)),
            loops=[loop],
            run=RunSettings(
                delay=ATTEMPT_DELAY if attempts > 1 else 0,
                stop_on_match=call.data[ATTR_STOP_ON_MATCH],
                parallel=call.data[ATTR_PROCESSING] == PROCESSING_PARALLEL,
            ),
            rules=settings.rules,
        )
    )
    _raise_if_nothing_analyzed(result, chosen[0])
    result = await data.publisher.async_publish(result, source=SOURCE_MANUAL)
    # As in the bus event: at most MAX_LISTED_UNKNOWNS unknown faces listed.
    return listed(result).as_dict(include_raw=call.data[ATTR_RESULTS] == "all")


async def _async_recognize_loop(
    hass: HomeAssistant, data: DoubleTakeData, kind: str, fields: Mapping[str, Any]
) -> ImageLoop:
    """Turn the action's source field into an image loop, validating it first."""
    value: str = fields[kind]
    attempts: int = fields[ATTR_ATTEMPTS]
    if kind == ATTR_IMAGE_PATH:
        image = await async_read_image_file(hass, value)
        return ImageLoop("manual", 1, FixedImage(value, image))
    if kind == ATTR_URL:
        return ImageLoop(
            "manual", attempts, UrlImage(async_get_clientsession(hass), value)
        )
    if kind == ATTR_CAMERA_ENTITY_ID:
        return ImageLoop("manual", attempts, CameraEntityImage(hass, value))
    if data.frigate is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_frigate"
        )
    settings = data.settings.current
    # A Frigate event's images are its snapshots, as in the event's own run.
    snapshot = FrigateImage(
        data.frigate.client,
        "snapshot",
        value,
        settings.image_height,
        settings.frigate_jitter,
    )
    return ImageLoop(snapshot.kind, attempts, snapshot)


def _raise_if_nothing_analyzed(result: RecognitionResult, source: str) -> None:
    """Raise when a manual run got no image or all its detectors failed."""
    if not result.analyzed:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="no_image",
            translation_placeholders={"source": source},
        )
    detections = [d for image in result.analyzed for d in image.detections]
    if detections and all(d.error for d in detections):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="detectors_failed",
            translation_placeholders={"error": detections[-1].error or ""},
        )


# -- train, remove, purge --------------------------------------------------------------


async def _async_train(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    name = trainable_name(call.data[ATTR_NAME])
    data = _entry_data(call, need_detectors=True)
    sources = await _async_train_sources(hass, data, call.data)
    # Each image is saved before the next is fetched: a call of many large images does
    # not hold them all in memory.
    report = await async_train_person(
        hass,
        data,
        name,
        result_ids=call.data.get(ATTR_RESULT_ID, []),
        images=_train_images(sources) if sources else None,
    )
    return report.as_dict()


async def _train_images(
    sources: Sequence[tuple[ImageSource, int]],
) -> AsyncIterator[bytes]:
    """Yield the images of the train action's sources, one at a time."""
    for source, attempts in sources:
        async for image in async_iter_images(source, attempts):
            yield image


async def _async_train_sources(
    hass: HomeAssistant, data: DoubleTakeData, fields: Mapping[str, Any]
) -> list[tuple[ImageSource, int]]:
    """Return the train action's sources, all validated before any is fetched."""
    camera: str | None = fields.get(ATTR_FRIGATE_CAMERA)
    if camera is not None:
        if data.frigate is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_frigate"
            )
        if camera not in data.frigate.config.cameras:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_frigate_camera",
                translation_placeholders={"camera": camera},
            )
    attempts: int = fields[ATTR_ATTEMPTS]
    sources: list[tuple[ImageSource, int]] = []
    for path in fields.get(ATTR_IMAGE_PATH, []):
        # Checked now (the bytes are not kept); read again when its turn comes.
        await async_read_image_file(hass, path)
        sources.append((ImageFile(hass, path), 1))
    session = async_get_clientsession(hass)
    sources += [(UrlImage(session, url), 1) for url in fields.get(ATTR_URL, [])]
    if (entity_id := fields.get(ATTR_CAMERA_ENTITY_ID)) is not None:
        sources.append((CameraEntityImage(hass, entity_id), attempts))
    if camera is not None and data.frigate is not None:
        height = data.settings.current.image_height
        latest = FrigateImage(data.frigate.client, "latest", camera, height)
        sources.append((latest, attempts))
    return sources


async def _async_remove(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    name = valid_name(call.data[ATTR_NAME])
    data = _entry_data(call)
    async with train_lock(hass):
        return await Trainer.of(hass, data).async_remove(name)


async def _async_purge(call: ServiceCall) -> ServiceResponse:
    data = _entry_data(call)
    counts = await async_purge(
        call.hass, data.media, data.history, data.settings.current
    )
    return dict(counts)


async def _async_evaluate(call: ServiceCall) -> ServiceResponse:
    data = _entry_data(call, need_detectors=True)
    return await async_evaluate(
        call.hass, data, call.data.get(ATTR_DETECTOR), call.data.get(ATTR_UNKNOWN_PATH)
    )
