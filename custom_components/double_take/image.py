"""Images: a person's last match, unknown faces, and each camera's last image with boxes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from homeassistant.components.image import ImageEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.util import dt as dt_util

from .api.models import Box
from .data import DoubleTakeConfigEntry
from .draw import Label, UndrawableImageError, crop_face, draw_faces
from .entity import (
    CameraResultEntity,
    PersonEntity,
    async_setup_camera_entities,
    async_setup_person_entities,
)
from .result import AnalyzedImage, FaceHit, RecognitionResult
from .storage import MIME_TYPES, InvalidNameError, MediaStore, image_extension

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0
ATTR_FILE = "file"
ATTR_BOX = "box"


async def async_setup_entry(
    hass: HomeAssistant,
    entry: DoubleTakeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Person and unknown images, camera images."""
    media = entry.runtime_data.media
    async_setup_person_entities(
        hass,
        entry,
        async_add_entities,
        lambda name: [PersonImage(hass, entry.entry_id, name, media)],
        with_unknown=True,
    )
    async_setup_camera_entities(
        entry,
        async_add_entities,
        lambda camera: [CameraImage(hass, entry, camera)],
    )


def content_type(data: bytes) -> str:
    """MIME type of image bytes."""
    return MIME_TYPES[image_extension(data)]


class PersonImage(PersonEntity, ImageEntity, RestoreEntity):
    """``image.double_take_NAME_last_face``: the face of the person's last match.

    The face is cropped (box and margin, as the history's crops) from the saved image
    when someone asks for it, in the executor; the whole image is shown when the face
    cannot be cropped. Named "Last face" (its translation key): with no name of its own
    it would share "Double Take NAME" with the person sensor, which keeps the device's
    name because ``sensor.double_take_NAME`` is the original's entity id. Installs from
    before keep ``image.double_take_NAME`` (the entity registry keeps ids).
    """

    _attr_translation_key = "person"

    def __init__(
        self, hass: HomeAssistant, entry_id: str, name: str, media: MediaStore
    ) -> None:
        """Create the image of ``name``."""
        super().__init__(entry_id, "image", name)
        ImageEntity.__init__(self, hass)
        self._media = media
        self._image: bytes | None = None
        self._face: bytes | None = None
        self._box: Box | None = None
        self._file: str | None = None
        self._crop_lock = asyncio.Lock()

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The saved file (under double_take/) and the face's box in it.

        Used to show the face again after a restart.
        """
        return {
            ATTR_FILE: self._file,
            ATTR_BOX: self._box.as_dict() if self._box is not None else None,
        }

    async def _async_restore(self) -> None:
        """Restore the last image's file, face box and time."""
        if (last := await self.async_get_last_state()) is not None:
            self._file = last.attributes.get(ATTR_FILE)
            self._box = _restored_box(last.attributes.get(ATTR_BOX))
            self._attr_image_last_updated = dt_util.parse_datetime(last.state)

    @callback
    def _handle_match(self, result: RecognitionResult, hit: FaceHit) -> None:
        self._image = hit.image
        self._face = None
        self._box = hit.face.box
        self._file = hit.image_path
        self._attr_image_last_updated = result.time
        self.async_write_ha_state()

    async def async_image(self) -> bytes | None:
        """Return the last face: cropped on first request, after a restart from its file."""
        async with self._crop_lock:
            if self._face is None:
                self._face = await self.hass.async_add_executor_job(
                    self._crop, self._image, self._file, self._box
                )
            if self._face is not None:
                self._attr_content_type = content_type(self._face)
            return self._face

    def _crop(
        self, image: bytes | None, file: str | None, box: Box | None
    ) -> bytes | None:
        """Crop the face out of ``image`` (or the saved ``file``); blocking."""
        if image is None and file:
            image = self._read_file(file)
        if image is None or box is None:
            return image
        try:
            return crop_face(image, box)
        except UndrawableImageError as err:
            _LOGGER.debug("Showing the whole image of %s: %s", self.person, err)
            return image

    def _read_file(self, relative: str) -> bytes | None:
        """Read a saved image back; the restored attribute is untrusted, so validate it."""
        try:
            return self._media.image_path(relative).read_bytes()
        except InvalidNameError, OSError:
            return None


def _restored_box(value: Any) -> Box | None:
    """Return the face box of a restored state (untrusted: ``from_rect`` clamps)."""
    if not isinstance(value, dict) or not {"top", "left", "width", "height"} <= set(
        value
    ):
        return None
    return Box.from_rect(value["top"], value["left"], value["width"], value["height"])


class CameraImage(CameraResultEntity, ImageEntity):
    """``image.double_take_CAM``: the camera's last analyzed image with boxes and names."""

    _attr_name = None
    _attr_translation_key = "camera"
    _attr_content_type = "image/jpeg"

    def __init__(
        self, hass: HomeAssistant, entry: DoubleTakeConfigEntry, camera: str
    ) -> None:
        """Create the image of ``camera``."""
        super().__init__(entry, "image", camera)
        ImageEntity.__init__(self, hass)
        self._image: bytes | None = None
        # The last result's image and boxes, drawn only when someone asks for the
        # image: decoding, drawing and encoding cost more CPU than the rest of a run.
        self._undrawn: tuple[bytes, list[Label]] | None = None
        self._draw_lock = asyncio.Lock()

    @callback
    def _handle_result(self, result: RecognitionResult) -> None:
        if (analyzed := _best_image(result)) is None:
            return
        self._undrawn = (analyzed.image, self._labels(analyzed))
        self._attr_image_last_updated = result.time
        self.async_write_ha_state()

    @staticmethod
    def _labels(analyzed: AnalyzedImage) -> list[Label]:
        return [
            Label(
                left=found.face.box.left,
                top=found.face.box.top,
                width=found.face.box.width,
                height=found.face.box.height,
                text=f"{found.name} {found.face.confidence:.0f}%",
                kind=found.kind.value,
            )
            for detection in analyzed.detections
            for found in detection.faces
        ]

    async def async_image(self) -> bytes | None:
        """Return the last result's image with its boxes (drawn on first request)."""
        async with self._draw_lock:
            if (undrawn := self._undrawn) is None:
                return self._image
            try:
                self._image = await self.hass.async_add_executor_job(
                    draw_faces, *undrawn
                )
            except (OSError, ValueError) as err:
                # Pillow cannot decode what the detector accepted: keep the last image.
                _LOGGER.warning(
                    "Cannot draw the faces of %s onto its image: %s", self.camera, err
                )
            if self._undrawn is undrawn:
                self._undrawn = None
            return self._image


def _best_image(result: RecognitionResult) -> AnalyzedImage | None:
    """Pick the image of the best match, else of the best miss or unknown, else the last."""
    for hits in (result.matches, result.misses, result.unknowns):
        if hits:
            target = hits[0].image
            for analyzed in result.analyzed:
                if analyzed.image is target:
                    return analyzed
    return result.analyzed[-1] if result.analyzed else None
