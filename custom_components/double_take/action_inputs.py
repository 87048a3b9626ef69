"""What the actions share: the entry they target and the images users hand them.

Everything a user passes is validated here before it is used, with translated errors.
"""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.camera import async_get_image
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .api.errors import ImageUnavailableError
from .api.http import MAX_IMAGE_BYTES, looks_like_image
from .api.images import image_problem
from .const import DOMAIN
from .data import DoubleTakeConfigEntry

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_URL = "url"
ATTR_IMAGE_PATH = "image_path"
ATTR_CAMERA_ENTITY_ID = "camera_entity_id"
ATTR_ATTEMPTS = "attempts"
URL_TIMEOUT = 10.0
# Between attempts on the same source, like Frigate's attempt_delay default.
ATTEMPT_DELAY = 0.5


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


async def async_camera_image(hass: HomeAssistant, entity_id: str) -> bytes:
    """Return the camera entity's current image; no image is ImageUnavailableError."""
    try:
        image = await async_get_image(hass, entity_id)
    except HomeAssistantError as err:
        raise ImageUnavailableError(f"{entity_id}: {err}") from err
    if not looks_like_image(image.content):
        raise ImageUnavailableError(f"{entity_id} did not return an image")
    return image.content
