"""The images users hand the actions: files, URLs, camera entities and Frigate.

Everything a user passes is validated here, with translated errors, before it is used.
The sources are the same objects Frigate events use (``api.sources``), plus a camera
entity's image, and they are asked through the same attempt loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from homeassistant.components.camera import async_get_image
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api.errors import ImageUnavailableError
from .api.http import MAX_IMAGE_BYTES, looks_like_image
from .api.images import image_problem
from .api.sources import ImageSource
from .const import DOMAIN
from .pipeline import attempt_images

# Between attempts on the same source, like Frigate's attempt_delay default.
ATTEMPT_DELAY = 0.5


@dataclass(frozen=True, slots=True)
class CameraEntityImage:
    """A Home Assistant camera entity's current image."""

    hass: HomeAssistant
    entity_id: str

    @property
    def name(self) -> str:
        """The entity id."""
        return self.entity_id

    async def fetch(self) -> bytes:
        """Return the camera's image; no image is ImageUnavailableError."""
        try:
            image = await async_get_image(self.hass, self.entity_id)
        except HomeAssistantError as err:
            raise ImageUnavailableError(f"{self.entity_id}: {err}") from err
        if not looks_like_image(image.content):
            raise ImageUnavailableError(f"{self.entity_id} did not return an image")
        return image.content


async def async_read_image_file(hass: HomeAssistant, value: str) -> bytes:
    """Read an image file from a folder Home Assistant may read (relative: config dir)."""
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
    if (problem := image_problem(data)) is not None:
        # Truncated, a decompression bomb, an unreadable header.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="file_unreadable",
            translation_placeholders={"path": value, "error": problem},
        )
    return data


def _read_limited(path: Path) -> bytes:
    with path.open("rb") as file:
        data = file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise OSError(f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return data


async def async_collect_images(source: ImageSource, attempts: int) -> list[bytes]:
    """Up to ``attempts`` images of ``source``, ATTEMPT_DELAY apart, for training.

    Getting none is an error naming the source and why its last attempt gave nothing.
    """
    problems: list[str] = []
    images = [
        image
        async for _, image in attempt_images(
            source, attempts, ATTEMPT_DELAY, problems=problems
        )
    ]
    if images:
        return images
    # Every attempt that gave nothing said why; ``attempts`` is at least 1.
    raise HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="fetch_failed",
        translation_placeholders={"source": source.name, "error": problems[-1]},
    )
