"""Frigate's person snapshots on MQTT as more attempts of a running event (type ``mqtt``).

Frigate publishes ``<prefix>/<camera>/person/snapshot`` (a JPEG) whenever it finds a
better frame of a person. The message names no event: an image goes to the runs of its
camera's events in progress, and is dropped when there is none. The original Double
Take did this by default (``attempts.mqtt``); here it is the option ``mqtt_snapshots``,
off by default: Frigate's HTTP images are larger and have no box drawn on them, and the
subscription costs every user the transfer of every snapshot.
"""

from __future__ import annotations

import asyncio
from collections import deque
import logging
from typing import TYPE_CHECKING

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from .api.errors import ImageUnavailableError
from .api.http import MAX_IMAGE_BYTES
from .options import LiveSettings
from .pipeline import ImageLoop

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

_LOGGER = logging.getLogger(__name__)

MQTT_TYPE = "mqtt"
# Images of one event analysed at most (Frigate sends one per better frame: a few).
MQTT_ATTEMPTS = 10
# Images waiting while the run analyses one: the newest, older ones are superseded.
WAITING_IMAGES = 2
_SNAPSHOT_TOPIC_END = "/person/snapshot"


class PushedSnapshots:
    """The snapshots of one camera published while one event's run goes on."""

    def __init__(self, camera: str, on_close: CALLBACK_TYPE) -> None:
        """Wait for ``camera``'s snapshots; ``on_close`` stops them from coming."""
        self._camera = camera
        self._on_close = on_close
        self._images: deque[bytes] = deque(maxlen=WAITING_IMAGES)
        self._arrived = asyncio.Event()
        self._closed = False

    @property
    def name(self) -> str:
        """Where the images come from, for messages."""
        return f"{self._camera} MQTT snapshots"

    def loop(self) -> ImageLoop:
        """Return the run's loop over these snapshots."""
        return ImageLoop(MQTT_TYPE, MQTT_ATTEMPTS, self, pushed=True)

    async def fetch(self) -> bytes:
        """Return the next snapshot, waiting for it; none once closed."""
        while not self._images:
            if self._closed:
                raise ImageUnavailableError(f"{self.name}: the event's run ended")
            self._arrived.clear()
            await self._arrived.wait()
        return self._images.popleft()

    @callback
    def push(self, image: bytes) -> None:
        """Hand over a published snapshot."""
        self._images.append(image)
        self._arrived.set()

    @callback
    def close(self) -> None:
        """Take no more snapshots: the run ended."""
        if self._closed:
            return
        self._closed = True
        self._arrived.set()
        self._on_close()


class SnapshotFeed:
    """The subscription to Frigate's person snapshots, and the runs waiting for them."""

    def __init__(
        self, hass: HomeAssistant, topic_prefix: str, settings: LiveSettings
    ) -> None:
        """Bind the feed to Frigate's MQTT topic prefix; nothing is subscribed yet."""
        self._hass = hass
        self._prefix = topic_prefix
        self._settings = settings
        self._waiting: dict[str, set[PushedSnapshots]] = {}
        self._started = False
        self._unsubscribe: CALLBACK_TYPE | None = None

    @property
    def topic(self) -> str:
        """The topic filter: every camera's person snapshot."""
        return f"{self._prefix}/+{_SNAPSHOT_TOPIC_END}"

    @property
    def subscribed(self) -> bool:
        """Whether snapshots are received (the option is on and MQTT is up)."""
        return self._unsubscribe is not None

    async def async_start(self) -> None:
        """MQTT is up: subscribe if the option is on (and follow it from now on)."""
        self._started = True
        await self.async_options_changed()

    async def async_options_changed(self) -> None:
        """Subscribe, or unsubscribe, as the option now says (once started)."""
        if not self._started:
            return
        enabled = self._settings.current.mqtt_snapshots
        if enabled and self._unsubscribe is None:
            self._unsubscribe = await mqtt.async_subscribe(
                self._hass, self.topic, self._handle_message, qos=0, encoding=None
            )
        elif not enabled:
            self._unsubscribe_now()

    @callback
    def async_stop(self) -> None:
        """Unsubscribe for good (on unload)."""
        self._started = False
        self._unsubscribe_now()

    @callback
    def _unsubscribe_now(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    @callback
    def open(self, camera: str) -> PushedSnapshots:
        """Receive ``camera``'s snapshots for a run until it closes them."""
        pushed: PushedSnapshots

        @callback
        def closed() -> None:
            self._waiting[camera].discard(pushed)
            if not self._waiting[camera]:
                del self._waiting[camera]

        pushed = PushedSnapshots(camera, closed)
        self._waiting.setdefault(camera, set()).add(pushed)
        return pushed

    @callback
    def _handle_message(self, message: ReceiveMessage) -> None:
        """Hand a snapshot to the runs of its camera; without one it is dropped."""
        if message.retain:
            # Frigate retains the last snapshot: on subscribing it is an old frame.
            return
        camera = message.topic[len(self._prefix) + 1 : -len(_SNAPSHOT_TOPIC_END)]
        if not (runs := self._waiting.get(camera)):
            return
        image = message.payload
        if not isinstance(image, bytes) or len(image) > MAX_IMAGE_BYTES:
            _LOGGER.debug("Ignoring an unusable snapshot on %s", message.topic)
            return
        for pushed in runs:
            pushed.push(image)
