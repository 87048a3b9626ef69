"""The images users hand the actions: files, URLs, camera entities and Frigate.

Everything a user passes is validated here, with translated errors, before it is used.
The sources are the same objects Frigate events use (``api.sources``), plus a camera
entity's image, and they are asked through the same attempt loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
import re

from homeassistant.components.camera import async_get_image
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api.errors import ImageUnavailableError
from .api.http import MAX_IMAGE_BYTES, looks_like_image
from .api.images import image_problem
from .api.sources import ImageSource
from .const import DOMAIN, STORAGE_DIR
from .pipeline import attempt_images

# Between attempts on the same source, like Frigate's attempt_delay default.
ATTEMPT_DELAY = 0.5
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


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
    """Read an image file from a folder Home Assistant may read (relative: config dir).

    The allowlist check resolves the path on disk, so it runs in the executor with the
    read. Every failure is a translated validation error (a NUL byte in the path too).
    """
    shown = _CONTROL_CHARS.sub("\N{REPLACEMENT CHARACTER}", value)
    try:
        data = await hass.async_add_executor_job(_read_allowed, hass, value)
    except (OSError, ValueError) as err:
        # ValueError: a NUL byte, which no file name can hold.
        error = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="file_unreadable",
            translation_placeholders={"path": shown, "error": error},
        ) from err
    if data is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="path_not_allowed",
            translation_placeholders={"path": shown},
        )
    if not looks_like_image(data):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_an_image",
            translation_placeholders={"path": shown},
        )
    if (problem := image_problem(data)) is not None:
        # Truncated, a decompression bomb, an unreadable header.
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="file_unreadable",
            translation_placeholders={"path": shown, "error": problem},
        )
    return data


def allowed_path(hass: HomeAssistant, value: str) -> Path | None:
    """Return ``value`` as a path if Home Assistant may read it, else None (blocking).

    Relative paths are in the config folder. Double Take's own folder needs no allowlist
    entry: its saved matches, unknown faces and history frames are what users train from.
    """
    path = Path(value)
    if not path.is_absolute():
        path = Path(hass.config.path(value))
    own = Path(hass.config.path(STORAGE_DIR)).resolve()
    if not path.resolve().is_relative_to(own) and not hass.config.is_allowed_path(
        str(path)
    ):
        return None
    return path


def _read_allowed(hass: HomeAssistant, value: str) -> bytes | None:
    """Read ``value`` if Home Assistant may read it, else None (blocking: executor)."""
    path = allowed_path(hass, value)
    return None if path is None else read_limited(path)


def read_limited(path: Path) -> bytes:
    """Read a file of at most MAX_IMAGE_BYTES; a larger one is an OSError (blocking)."""
    with path.open("rb") as file:
        data = file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise OSError(f"larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return data


@dataclass(frozen=True, slots=True)
class ImageFile:
    """An image file named by the train action, read when asked (not kept in memory).

    The action checks it with ``async_read_image_file`` before anything is fetched; a
    file that cannot be read any more by then is a failed attempt.
    """

    hass: HomeAssistant
    path: str

    @property
    def name(self) -> str:
        """The path as given."""
        return _CONTROL_CHARS.sub("\N{REPLACEMENT CHARACTER}", self.path)

    async def fetch(self) -> bytes:
        """Read and check the file again."""
        try:
            return await async_read_image_file(self.hass, self.path)
        except ServiceValidationError as err:
            raise ImageUnavailableError(
                f"{self.name} cannot be read any more ({err.translation_key})"
            ) from err


async def async_iter_images(source: ImageSource, attempts: int) -> AsyncIterator[bytes]:
    """Yield up to ``attempts`` images of ``source``, ATTEMPT_DELAY apart, for training.

    One image at a time, so a caller can store each before the next is fetched. Getting
    none is an error naming the source and why its last attempt gave nothing.
    """
    problems: list[str] = []
    found = False
    async for _, image in attempt_images(
        source, attempts, ATTEMPT_DELAY, problems=problems
    ):
        found = True
        yield image
    if found:
        return
    # Every attempt that gave nothing said why; ``attempts`` is at least 1.
    raise HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key="fetch_failed",
        translation_placeholders={"source": source.name, "error": problems[-1]},
    )
