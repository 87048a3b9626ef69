"""Training and removing persons on every detector of an entry (SPEC §6.5).

``train/<name>/`` is the source of truth: images from a URL, a file, a camera or Frigate
are first saved there (named by content hash), then every image of the folder that a
detector has not learnt yet (by content hash, from the index) is sent to it. Detectors
that replace a person's embedding on every register call (``replaces_on_train``:
DeepStack, CodeProject.AI) get all of the person's images whenever one of them is new.

Memory stays bounded: images from the action's sources are saved one at a time, and
the folder's images are read again for each call, at most MAX_TRAIN_CALL_BYTES at once.
Other detectors get their new images in calls of at most that size; DeepStack and
CodeProject.AI get ONE call (it must hold all the person's images, as each call
replaces the person) with as many images, oldest first, as fit: the others are listed
as failed, and the next train call sends the same ones again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
import logging
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util.hass_dict import HassKey

from .api.errors import ApiError
from .api.models import UNKNOWN, TrainingImage, TrainOutcome
from .const import DOMAIN
from .data import DoubleTakeData, require_detectors
from .health import HealthMonitor
from .index import PersonIndex
from .persons import PersonRegistry
from .pipeline import DetectorHandle
from .recorder import make_face
from .storage import TRAIN, InvalidNameError, MediaStore, TrainFile, validate_name

_LOGGER = logging.getLogger(__name__)

# Image bytes of one detector call, read from train/ just before it.
MAX_TRAIN_CALL_BYTES = 64 * 1024 * 1024
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def valid_name(name: str) -> str:
    """Return the validated name, or raise a translated ServiceValidationError."""
    try:
        return validate_name(name)
    except InvalidNameError as err:
        shown = _CONTROL_CHARS.sub("\ufffd", str(name))
        if len(shown) > 70:
            shown = shown[:69] + "…"
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_name",
            translation_placeholders={"name": shown},
        ) from err


def trainable_name(name: str) -> str:
    """Return the validated name of a person to train; "unknown" is refused.

    Detectors answer "unknown" for strangers: nobody can be trained as that.
    """
    name = valid_name(name)
    if name.casefold() == UNKNOWN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="reserved_name",
            translation_placeholders={"name": name},
        )
    return name


@dataclass(slots=True)
class TrainReport:
    """Per-image, per-detector outcome of one train call."""

    name: str
    trained: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    # Files a detector refused as images (no face, several faces…), not for being down.
    refused: list[str] = field(default_factory=list, repr=False)

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

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        detectors: Sequence[DetectorHandle],
        index: PersonIndex,
        media: MediaStore,
        persons: PersonRegistry,
        health: HealthMonitor,
    ) -> None:
        """Work with the entry's detectors, index, folders, persons and health."""
        self.hass = hass
        self.detectors = detectors
        self.index = index
        self.store = media
        self.persons = persons
        self.health = health

    @classmethod
    def of(cls, hass: HomeAssistant, data: DoubleTakeData) -> Trainer:
        """Return the trainer of a loaded entry."""
        return cls(
            hass,
            detectors=data.detectors,
            index=data.index,
            media=data.media,
            persons=data.persons,
            health=data.health,
        )

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

    async def async_train(
        self,
        name: str,
        images: AsyncIterable[bytes] | Iterable[bytes] | None = None,
    ) -> TrainReport:
        """Save ``images`` into ``train/<name>/`` and train every detector on what is new.

        ``images`` may be an async iterable: each image is saved before the next one is
        asked for, so they need not all be in memory at once.
        """
        display, folder = await self._async_person(name)
        created = [] if images is None else await self._async_save(folder, images)
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
                for handle in self.detectors
            )
        )
        for part in partial:
            report.trained += part.trained
            report.skipped += part.skipped
            report.failed += part.failed
            report.refused += part.refused
        await self.index.async_save()
        await self._async_drop_refused(report, created)
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
        self.persons.async_add(display)
        _LOGGER.debug(
            "Trained %s: %d trained, %d skipped, %d failed",
            display,
            len(report.trained),
            len(report.skipped),
            len(report.failed),
        )
        return report

    async def _async_drop_refused(
        self, report: TrainReport, created: list[str]
    ) -> None:
        """Delete the images this call added that every detector refused as images.

        A frame with two faces would otherwise stay in ``train/`` and fail again on
        every later train call.
        """
        drop = {
            path
            for path in created
            if report.refused.count(path) == len(self.detectors)
        }
        if not drop:
            return
        await self.hass.async_add_executor_job(self.store.remove_train_images, drop)
        for row in report.failed:
            if row["file"] in drop:
                row["error"] += " (the image was not kept)"

    async def _async_save(
        self, folder: str, images: AsyncIterable[bytes] | Iterable[bytes]
    ) -> list[str]:
        """Save each image as it comes; on failure, delete the files this call added.

        A source that gives no image fails the call, and nothing of it is kept. Returns
        the files that are new.
        """
        created: list[str] = []
        try:
            async for data in _aiter(images):
                path, new = await self._async_storage(
                    self.store.add_train_image, folder, data
                )
                if new:
                    created.append(path)
        except Exception:
            if created:
                await self.hass.async_add_executor_job(
                    self.store.remove_train_images, created
                )
            raise
        return created

    async def _async_train_detector(
        self, handle: DetectorHandle, name: str, files: list[TrainFile]
    ) -> TrainReport:
        """Send ``handle`` the images it has not learnt (all of them for DeepStack)."""
        report = TrainReport(name)
        known = self.index.trained(handle.id, name)
        if all(file.digest in known for file in files):
            report.skipped += [_row(file, handle) for file in files]
            return report
        replaces = handle.detector.replaces_on_train
        send = files if replaces else [f for f in files if f.digest not in known]
        sent = {file.digest for file in send}
        report.skipped += [
            _row(file, handle) for file in files if file.digest not in sent
        ]
        batches = _batches(send)
        if replaces and len(batches) > 1:
            # One call must carry them all: the ones that do not fit are not trained.
            limit = f"more than {MAX_TRAIN_CALL_BYTES // (1024 * 1024)} MB in one call"
            report.failed += [
                _row(file, handle, limit) for batch in batches[1:] for file in batch
            ]
            batches = batches[:1]
        for number, batch in enumerate(batches):
            if (error := await self._async_send(handle, name, batch, report)) is None:
                continue
            report.failed += [
                _row(file, handle, error)
                for later in batches[number + 1 :]
                for file in later
            ]
            break
        return report

    async def _async_send(
        self,
        handle: DetectorHandle,
        name: str,
        batch: list[TrainFile],
        report: TrainReport,
    ) -> str | None:
        """Read ``batch`` from train/ and send it in one call; returns an API error."""
        images = await self.hass.async_add_executor_job(
            self.store.read_train_images, batch
        )
        send = [file for file in batch if file.path in images]
        report.failed += [
            _row(file, handle, "the file changed or is gone")
            for file in batch
            if file.path not in images
        ]
        if not send:
            return None
        try:
            outcomes = await handle.detector.train(
                name, [TrainingImage(file.path, images[file.path]) for file in send]
            )
        except ApiError as err:
            error = str(err) or type(err).__name__
            self.health.report(handle.id, error)
            report.failed += [_row(file, handle, error) for file in send]
            return error
        self.health.report(handle.id, None)
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
                report.refused.append(file.path)
        return None

    async def async_remove(self, name: str) -> dict[str, Any]:
        """Forget ``name`` on every detector and in the index; train files stay."""
        display, folder = await self._async_person(name)
        removed: list[str] = []
        failed: list[dict[str, str]] = []
        errors = await asyncio.gather(
            *(self._async_remove_detector(handle, display) for handle in self.detectors)
        )
        for handle, error in zip(self.detectors, errors, strict=True):
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
            # Nothing left to recognize this person by: their entities go.
            self.persons.async_remove(display)
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


async def _aiter(
    *sources: AsyncIterable[bytes] | Iterable[bytes] | None,
) -> AsyncIterator[bytes]:
    """Yield the images of every source in turn (None: no images)."""
    for images in sources:
        if isinstance(images, AsyncIterable):
            async for image in images:
                yield image
        elif images is not None:
            for image in images:
                yield image


def _batches(files: list[TrainFile]) -> list[list[TrainFile]]:
    """``files`` in order, cut into batches of at most MAX_TRAIN_CALL_BYTES (one at least)."""
    batches: list[list[TrainFile]] = []
    size = 0
    for file in files:
        if not batches or size + file.size > MAX_TRAIN_CALL_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(file)
        size += file.size
    return batches


def _row(
    file: TrainFile, handle: DetectorHandle, error: str | None = None
) -> dict[str, str]:
    row = {"file": file.path, "detector": handle.kind}
    if error is not None:
        row["error"] = error
    return row


DATA_TRAIN_LOCK: HassKey[asyncio.Lock] = HassKey(f"{DOMAIN}_train_lock")


def train_lock(hass: HomeAssistant) -> asyncio.Lock:
    """One training or removal at a time (they read and write the same index)."""
    if (lock := hass.data.get(DATA_TRAIN_LOCK)) is None:
        lock = hass.data[DATA_TRAIN_LOCK] = asyncio.Lock()
    return lock


async def async_train_person(
    hass: HomeAssistant,
    data: DoubleTakeData,
    name: str,
    *,
    result_ids: Sequence[int] = (),
    images: AsyncIterable[bytes] | Iterable[bytes] | None = None,
) -> TrainReport:
    """Train ``name`` on ``images`` and on the face crops of recorded results.

    A result is one face (a frame with several faces has a row for each), so its crop
    is the chosen face; the results become corrected matches of ``name``. Without
    images and results, the images already in ``train/<name>/`` are trained.
    """
    require_detectors(data)
    records = []
    crops: list[bytes] = []
    for result_id in dict.fromkeys(result_ids):
        record = await hass.async_add_executor_job(data.history.get, result_id)
        if record is None or record.face is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="result_not_found",
                translation_placeholders={"result_id": str(result_id)},
            )
        try:
            crops.append(
                await hass.async_add_executor_job(
                    make_face, data.history, data.media.root, record.face
                )
            )
        except FileNotFoundError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="result_not_found",
                translation_placeholders={"result_id": str(result_id)},
            ) from err
        records.append(record)
    source = _aiter(crops, images) if crops or images is not None else None
    async with train_lock(hass):
        report = await Trainer.of(hass, data).async_train(name, source)
    for record in records:
        await hass.async_add_executor_job(
            data.history.mark_corrected, record.id, report.name
        )
    return report
