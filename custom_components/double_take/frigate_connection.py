"""The Frigate an entry talks to: its client and its configuration.

An entry without Frigate has none (``DoubleTakeData.frigate`` is None): recognition then
runs from the actions only.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import TYPE_CHECKING

from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api.errors import ApiAuthError, ApiError
from .api.events import FrigateEvent
from .api.frigate import FrigateClient, FrigateConfig
from .api.sources import FaceCrop, FrigateImage, ImageSource
from .const import (
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_VERIFY_SSL,
    CROP_FACE,
    CROP_NONE,
    CROP_PERSON,
    DOMAIN,
    REQUIRE_FACE_AUTO,
    REQUIRE_FACE_ON,
)
from .options import Settings
from .pipeline import ImageLoop

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .data import DoubleTakeConfigEntry

_LOGGER = logging.getLogger(__name__)

# Cameras added to Frigate show up within this time.
CONFIG_REFRESH = timedelta(minutes=5)


class FrigateConnection(DataUpdateCoordinator[FrigateConfig]):
    """A reachable Frigate: its client, and its ``/api/config`` read again every few minutes.

    Re-reading the config lets cameras added to Frigate later appear as devices without a
    reload; a changed MQTT topic prefix reloads the entry (the subscription changes).
    Frigate going away and coming back is logged once each (the coordinator does).
    """

    config_entry: DoubleTakeConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: DoubleTakeConfigEntry, client: FrigateClient
    ) -> None:
        """Bind the connection to the entry and its Frigate client."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"Frigate at {client.url}",
            update_interval=CONFIG_REFRESH,
        )
        self.client = client

    @property
    def config(self) -> FrigateConfig:
        """What Frigate's ``/api/config`` said last."""
        return self.data

    async def _async_update_data(self) -> FrigateConfig:
        """Read Frigate's config; rejected credentials start re-authentication."""
        try:
            config = await self.client.config()
        except ApiAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="frigate_auth_failed"
            ) from err
        except ApiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="frigate_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        if self.data is not None and config.topic_prefix != self.data.topic_prefix:
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        return config

    @property
    def events_topic(self) -> str:
        """The MQTT topic Frigate publishes its events on."""
        return f"{self.config.topic_prefix}/events"

    def event_loops(
        self, event: FrigateEvent, settings: Settings
    ) -> tuple[ImageLoop, ...]:
        """Return the two loops of an event: the event's snapshot and the camera's latest.

        ``crop: face`` cuts the face Frigate saw in the snapshot frame out of the
        full-resolution snapshot; without such a face (or the camera's detect size) the
        snapshot is the person, as with ``crop: person``. The latest frame is a later
        frame than any face box Frigate sent: it stays whole.
        """
        height, jitter = settings.image_height, settings.frigate_jitter
        snapshot: ImageSource = FrigateImage(
            self.client,
            "snapshot",
            event.id,
            height,
            jitter,
            crop=CROP_NONE if settings.crop == CROP_NONE else CROP_PERSON,
        )
        box, size = event.snapshot_face_box, self.config.detect_size(event.camera)
        if settings.crop == CROP_FACE and box is not None and size is not None:
            full = FrigateImage(
                self.client, "snapshot", event.id, height, jitter, crop=CROP_FACE
            )
            snapshot = FaceCrop(full, box, size)
        latest = FrigateImage(self.client, "latest", event.camera, height, jitter)
        return (
            ImageLoop("snapshot", settings.snapshot_attempts, snapshot),
            ImageLoop("latest", settings.latest_attempts, latest),
        )

    def waits_for_face(self, event: FrigateEvent, settings: Settings) -> bool:
        """Whether the event is skipped until Frigate reports a face (``require_face``)."""
        if event.face_box is not None or event.snapshot_face_box is not None:
            return False
        if settings.require_face == REQUIRE_FACE_AUTO:
            return self.config.tracks_faces(event.camera)
        return settings.require_face == REQUIRE_FACE_ON


async def async_connect(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> FrigateConnection | None:
    """Connect to the entry's Frigate and read its config; None without a Frigate URL.

    Rejected credentials start re-authentication (at setup and whenever a later request
    is refused); an unreachable Frigate makes Home Assistant retry the setup.
    """
    if not (url := entry.data.get(CONF_FRIGATE_URL)):
        return None
    verify_ssl = entry.data.get(CONF_VERIFY_SSL, True)
    client = FrigateClient(
        async_get_clientsession(hass, verify_ssl=verify_ssl),
        url,
        username=entry.data.get(CONF_FRIGATE_USERNAME, ""),
        password=entry.data.get(CONF_FRIGATE_PASSWORD, ""),
        verify_ssl=verify_ssl,
        # HA shows one reauth flow per entry however often this happens.
        on_auth_failure=lambda: entry.async_start_reauth(hass),
    )
    connection = FrigateConnection(hass, entry, client)
    await connection.async_config_entry_first_refresh()
    return connection
