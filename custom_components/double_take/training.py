"""The train, remove and purge actions (SPEC §6.5).

``train/<name>/`` is the source of truth: images from a URL, a file, a camera or Frigate
are first saved there (named by content hash), then every image of the folder that a
detector has not learnt yet (by content hash, from the index) is sent to it. DeepStack
and CodeProject.AI replace a person's embedding on every register call, so they get all
of the person's images in one call whenever one of them is new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
import logging
import re
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
from homeassistant.util.hass_dict import HassKey

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
from .api.errors import ApiError
from .api.http import fetch_image
from .api.models import UNKNOWN, TrainingImage, TrainOutcome
from .const import DETECTOR_CODEPROJECT, DETECTOR_DEEPSTACK, DOMAIN
from .coordinator import DoubleTakeCoordinator
from .pipeline import DetectorHandle
from .purge import async_purge
from .storage import TRAIN, InvalidNameError, TrainFile, validate_name

_LOGGER = logging.getLogger(__name__)

SERVICE_TRAIN = "train"
SERVICE_REMOVE = "remove"
SERVICE_PURGE = "purge"

ATTR_NAME = "name"
ATTR_FRIGATE_CAMERA = "frigate_camera"

MAX_SOURCES = 50
# These servers average all images of a register call into one embedding that
# replaces the previous one: they must always get all of a person's images.
REPLACING_KINDS = frozenset({DETECTOR_DEEPSTACK, DETECTOR_CODEPROJECT})
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

DATA_TRAIN_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_train_lock")

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
        vol.Optional(ATTR_ATTEMPTS, default=1): vol.All(
            vol.Coerce(int), vol.Range(1, 20)
        ),
    }
)
REMOVE_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string,
        vol.Required(ATTR_NAME): cv.string,
    }
)
PURGE_SCHEMA = vol.Schema({vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string})


def async_setup_training_services(hass: HomeAssistant) -> None:
    """Register ``train``, ``remove`` and ``purge``."""
    for service, handler, schema in (
        (SERVICE_TRAIN, _async_train, TRAIN_SCHEMA),
        (SERVICE_REMOVE, _async_remove, REMOVE_SCHEMA),
        (SERVICE_PURGE, _async_purge, PURGE_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN,
            service,
            handler,
            schema=schema,
            supports_response=SupportsResponse.OPTIONAL,
        )


# -- actions ---------------------------------------------------------------------------


async def _async_train(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    name = valid_name(call.data[ATTR_NAME])
    if name.casefold() == UNKNOWN:
        # Detectors answer "unknown" for strangers: nobody can be trained as that.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="reserved_name",
            translation_placeholders={"name": name},
        )
    entry = loaded_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    coordinator = entry.runtime_data.coordinator
    if not coordinator.detectors:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_detectors"
        )
    images = await _async_collect_images(hass, coordinator, call.data)
    async with _lock(hass):
        report = await Trainer(hass, coordinator).async_train(name, images)
    return report.as_dict()


async def _async_remove(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    name = valid_name(call.data[ATTR_NAME])
    entry = loaded_entry(hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    async with _lock(hass):
        return await Trainer(hass, entry.runtime_data.coordinator).async_remove(name)


async def _async_purge(call: ServiceCall) -> ServiceResponse:
    entry = loaded_entry(call.hass, call.data.get(ATTR_CONFIG_ENTRY_ID))
    counts = await async_purge(call.hass, entry.runtime_data.coordinator)
    return dict(counts)


def valid_name(name: str) -> str:
    """Return the validated name, or raise a translated ServiceValidationError."""
    try:
        return validate_name(name)
    except InvalidNameError as err:
        shown = _CONTROL_CHARS.sub("�", str(name))
        if len(shown) > 70:
            shown = shown[:69] + "…"
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_name",
            translation_placeholders={"name": shown},
        ) from err


def _lock(hass: HomeAssistant) -> asyncio.Lock:
    """One training or removal at a time (they read and write the same index)."""
    if (lock := hass.data.get(DATA_TRAIN_LOCK)) is None:
        lock = hass.data[DATA_TRAIN_LOCK] = asyncio.Lock()
    return lock


# -- image sources ---------------------------------------------------------------------


async def _async_collect_images(
    hass: HomeAssistant, coordinator: DoubleTakeCoordinator, data: Mapping[str, Any]
) -> list[bytes]:
    """Images of the action's sources; everything is validated before anything is fetched."""
    camera: str | None = data.get(ATTR_FRIGATE_CAMERA)
    if camera is not None:
        if coordinator.frigate is None or coordinator.frigate_config is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="no_frigate"
            )
        if camera not in coordinator.frigate_config.cameras:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_frigate_camera",
                translation_placeholders={"camera": camera},
            )
    images = [
        await async_read_image_file(hass, path)
        for path in data.get(ATTR_IMAGE_PATH, [])
    ]
    session = async_get_clientsession(hass)
    for url in data.get(ATTR_URL, []):
        try:
            images.append(await fetch_image(session, url, timeout=URL_TIMEOUT))
        except ApiError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="fetch_failed",
                translation_placeholders={
                    "source": url.split("?", 1)[0],
                    "error": str(err),
                },
            ) from err
    attempts: int = data[ATTR_ATTEMPTS]
    if (entity_id := data.get(ATTR_CAMERA_ENTITY_ID)) is not None:
        images += await _async_attempts(
            entity_id, attempts, lambda: async_camera_image(hass, entity_id)
        )
    if camera is not None:
        frigate = coordinator.frigate
        assert frigate is not None
        height = coordinator.settings.image_height
        images += await _async_attempts(
            camera, attempts, lambda: frigate.latest(camera, height=height)
        )
    return images


async def _async_attempts(
    source: str, attempts: int, fetch: Callable[[], Awaitable[bytes]]
) -> list[bytes]:
    """Fetch ``attempts`` images, ATTEMPT_DELAY apart; failed attempts are skipped."""
    images: list[bytes] = []
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(ATTEMPT_DELAY)
        try:
            images.append(await fetch())
        except ApiError as err:
            _LOGGER.debug("Attempt %d on %s failed: %s", attempt + 1, source, err)
    if not images:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="no_image",
            translation_placeholders={"source": source},
        )
    return images


# -- training ---------------------------------------------------------------------------


@dataclass(slots=True)
class TrainReport:
    """Per-image, per-detector outcome of one train call."""

    name: str
    trained: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Response of the train action."""
        return {
            "name": self.name,
            "trained": self.trained,
            "skipped": self.skipped,
            "failed": self.failed,
        }


class Trainer:
    """Trains and removes persons on every detector of one entry."""

    def __init__(self, hass: HomeAssistant, coordinator: DoubleTakeCoordinator) -> None:
        """Work with the coordinator's detectors, index and media store."""
        self.hass = hass
        self.coordinator = coordinator
        self.store = coordinator.store
        self.index = coordinator.index

    async def _async_person(self, name: str) -> tuple[str, str]:
        """(display name, train folder name) of ``name``, compared case-insensitively.

        The index's spelling wins for display (it is what detectors were trained with),
        an existing train folder keeps its own spelling.
        """
        folder = await self._async_storage(self.store.person_folder, TRAIN, name)
        display = self.index.display_name(name) or folder or name
        return display, folder or display

    async def _async_storage[**P, T](
        self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a MediaStore method in the executor; a path it refuses is a user error.

        Names are validated before this, so only a person folder that is a link to
        somewhere outside ``double_take/`` ends up here.
        """
        try:
            return await self.hass.async_add_executor_job(
                partial(func, *args, **kwargs)
            )
        except InvalidNameError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="folder_outside",
                translation_placeholders={"error": str(err)},
            ) from err

    async def async_train(self, name: str, images: list[bytes]) -> TrainReport:
        """Save ``images`` into ``train/<name>/`` and train every detector on what is new."""
        display, folder = await self._async_person(name)
        for data in images:
            await self._async_storage(self.store.save_train_image, folder, data)
        files = await self._async_storage(self.store.train_files, folder)
        if not files:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_train_images",
                translation_placeholders={"name": display, "folder": folder},
            )
        report = TrainReport(display)
        partial = await asyncio.gather(
            *(
                self._async_train_detector(handle, display, files)
                for handle in self.coordinator.detectors
            )
        )
        for part in partial:
            report.trained += part.trained
            report.skipped += part.skipped
            report.failed += part.failed
        await self.index.async_save()
        if report.failed and not report.trained and not report.skipped:
            first = report.failed[0]
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="train_failed",
                translation_placeholders={
                    "name": display,
                    "error": f"{first['detector']}: {first['error']}",
                },
            )
        self.coordinator.async_add_person(display)
        _LOGGER.debug(
            "Trained %s: %d trained, %d skipped, %d failed",
            display,
            len(report.trained),
            len(report.skipped),
            len(report.failed),
        )
        return report

    async def _async_train_detector(
        self, handle: DetectorHandle, name: str, files: list[TrainFile]
    ) -> TrainReport:
        """Send ``handle`` the images it has not learnt (all of them for DeepStack)."""
        report = TrainReport(name)
        known = self.index.trained(handle.id, name)
        if all(file.digest in known for file in files):
            report.skipped += [_row(file, handle) for file in files]
            return report
        send = (
            files
            if handle.kind in REPLACING_KINDS
            else [file for file in files if file.digest not in known]
        )
        sent = {file.digest for file in send}
        report.skipped += [
            _row(file, handle) for file in files if file.digest not in sent
        ]
        try:
            outcomes = await handle.detector.train(
                name, [TrainingImage(file.path, file.data) for file in send]
            )
        except ApiError as err:
            error = str(err) or type(err).__name__
            self.coordinator.health.report(handle.id, error)
            report.failed += [_row(file, handle, error) for file in send]
            return report
        self.coordinator.health.report(handle.id, None)
        by_file: dict[str, TrainOutcome] = {
            outcome.filename: outcome for outcome in outcomes
        }
        for file in send:
            outcome = by_file.get(file.path)
            if outcome is None:
                report.failed.append(_row(file, handle, "no answer for this image"))
            elif outcome.ok:
                self.index.record_trained(handle.id, name, file.digest, outcome.ref)
                report.trained.append(_row(file, handle))
            else:
                report.failed.append(_row(file, handle, outcome.error or "failed"))
        return report

    async def async_remove(self, name: str) -> dict[str, Any]:
        """Forget ``name`` on every detector and in the index; train files stay."""
        display, folder = await self._async_person(name)
        removed: list[str] = []
        failed: list[dict[str, str]] = []
        errors = await asyncio.gather(
            *(
                self._async_remove_detector(handle, display)
                for handle in self.coordinator.detectors
            )
        )
        for handle, error in zip(self.coordinator.detectors, errors, strict=True):
            if error is None:
                removed.append(handle.kind)
            else:
                failed.append({"detector": handle.kind, "error": error})
        await self.index.async_save()
        if failed and not removed:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="remove_failed",
                translation_placeholders={
                    "name": display,
                    "error": f"{failed[0]['detector']}: {failed[0]['error']}",
                },
            )
        images = await self._async_storage(self.store.images, TRAIN, folder)
        if not failed and not images:
            # Nothing left to recognise this person by: their entities go.
            self.coordinator.async_remove_person(display)
        return {"name": display, "removed": removed, "failed": failed}

    async def _async_remove_detector(
        self, handle: DetectorHandle, name: str
    ) -> str | None:
        """Remove ``name`` from one detector; returns the error text, None on success."""
        refs = [ref for ref in self.index.trained(handle.id, name).values() if ref]
        try:
            await handle.detector.remove(name, refs)
        except ApiError as err:
            return str(err) or type(err).__name__
        self.index.forget_trained(handle.id, name)
        return None


def _row(
    file: TrainFile, handle: DetectorHandle, error: str | None = None
) -> dict[str, str]:
    row = {"file": file.path, "detector": handle.kind}
    if error is not None:
        row["error"] = error
    return row
