"""The ``double_take.evaluate`` action: cross-validate a detector on the training images.

The evaluation itself is ``evaluate.py`` (no Home Assistant in it); here the action picks
the detector, reads the persons' training images and an optional folder of strangers in
the executor, holds the training lock (a train or remove of the same detector meanwhile
would change what is measured) and turns failures into translated errors.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api.errors import ApiError
from .api.images import image_problem
from .api.models import TrainingImage
from .const import DOMAIN
from .data import DoubleTakeData
from .evaluate import EvaluationError, evaluate
from .pipeline import DetectorHandle
from .sources import allowed_path, read_limited
from .storage import MediaStore
from .training import train_lock

# Images per person (and strangers) evaluated at most: a detector server is trained
# about n² times per person, and the local detector takes ~0.4 s per image here.
MAX_IMAGES_PER_PERSON = 50
MAX_STRANGERS = 200


async def async_evaluate(
    hass: HomeAssistant,
    data: DoubleTakeData,
    detector: str | None,
    unknown_path: str | None,
) -> dict[str, Any]:
    """Evaluate the chosen detector; return the action's response."""
    handle = _chosen_detector(data, detector)
    persons = await hass.async_add_executor_job(_training_images, data.media)
    strangers = (
        await hass.async_add_executor_job(_stranger_images, hass, unknown_path)
        if unknown_path
        else []
    )
    async with train_lock(hass):
        try:
            evaluation = await evaluate(handle.detector, persons, strangers)
        except EvaluationError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="evaluate_refused",
                translation_placeholders={"detector": handle.name, "error": str(err)},
            ) from err
        except ApiError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="evaluate_failed",
                translation_placeholders={"detector": handle.name, "error": str(err)},
            ) from err
    return {"detector_name": handle.name, **evaluation.as_dict()}


def _chosen_detector(data: DoubleTakeData, wanted: str | None) -> DetectorHandle:
    """Return the detector named ``wanted`` (title, type or id); the only one when None."""
    if wanted is None and len(data.detectors) == 1:
        return data.detectors[0]
    for handle in data.detectors:
        if wanted is not None and wanted.casefold() in (
            handle.name.casefold(),
            handle.kind,
            handle.id.casefold(),
        ):
            return handle
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="choose_detector",
        translation_placeholders={
            "detectors": ", ".join(handle.name for handle in data.detectors)
        },
    )


def _training_images(media: MediaStore) -> dict[str, list[TrainingImage]]:
    """Each person's training images, newest MAX_IMAGES_PER_PERSON (blocking)."""
    persons: dict[str, list[TrainingImage]] = {}
    for name in media.train_names():
        files = media.train_files(name)[-MAX_IMAGES_PER_PERSON:]
        images = media.read_train_images(files)
        if images:
            persons[name] = [
                TrainingImage(path, image) for path, image in images.items()
            ]
    return persons


def _stranger_images(hass: HomeAssistant, folder: str) -> list[TrainingImage]:
    """Return the images of a folder Home Assistant may read (blocking).

    Files that are not usable images are skipped; a folder that is not allowed, or not
    a folder, is a translated error.
    """
    if (path := allowed_path(hass, folder)) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": folder},
        )
    if not path.is_dir():
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_folder",
            translation_placeholders={"path": folder},
        )
    strangers: list[TrainingImage] = []
    for file in sorted(path.iterdir()):
        if len(strangers) >= MAX_STRANGERS:
            break
        if not file.is_file() or file.is_symlink():
            continue
        try:
            image = read_limited(file)
        except OSError:
            continue
        if image_problem(image) is None:
            strangers.append(TrainingImage(file.name, image))
    return strangers
