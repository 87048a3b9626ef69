"""The rest of the original Double Take's MQTT contract (README "MQTT topics").

Besides the result topics (``publish.mqtt_messages``), the original published:

- ``double-take/available``: ``online`` (retained) while running, ``offline`` when stopped;
- ``double-take/errors``: the errors it logged;
- ``double-take/cameras/<camera>/person``: the camera's person count (retained), back to
  ``0`` some seconds after the camera's last result (``camera_reset``).

Result payloads also carried ``timestamp``, each face's ``filename`` and, per camera,
``personCount``: the payload builders below add them beside today's fields.

``available`` and ``errors`` live beside the matches topic (``double-take/matches`` →
``double-take/``), so an instance moved to other topics takes them along. Everything here
is published only while ``mqtt_publish`` is on and Home Assistant's MQTT is set up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import logging
from pathlib import PurePosixPath
import re
from typing import TYPE_CHECKING, Any

import orjson

from homeassistant.components import mqtt
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .options import LiveSettings, Settings
from .result import FaceHit, RecognitionResult

if TYPE_CHECKING:
    from .data import DoubleTakeConfigEntry

_LOGGER = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"
AVAILABLE = "available"
ERRORS = "errors"
PERSON = "person"
SOURCE_DETECTOR = "detector"
SOURCE_FRIGATE = "frigate"
# At most one ``errors`` message per source in this time (a detector down for an hour
# fails on every attempt of every event).
ERROR_INTERVAL = timedelta(minutes=1)
ERROR_LIMIT = 300
DEFAULT_BASE = "double-take"

_NOT_IN_TOPIC_LEVEL = re.compile(r"[+#/\x00]")


# -- Payloads: today's fields, and the original's names beside them -----------------------


def camera_topic_level(camera: str) -> str:
    """Return the camera as one topic level: lower case (J#163), no wildcards."""
    return _NOT_IN_TOPIC_LEVEL.sub("", camera.lower()) or "unknown"


def face_payload(hit: FaceHit) -> dict[str, Any]:
    """Return a face as published: ``as_dict`` and the original's ``filename``."""
    data = hit.as_dict()
    data["filename"] = PurePosixPath(hit.image_path).name if hit.image_path else None
    return data


def base_payload(result: RecognitionResult) -> dict[str, Any]:
    """Return the fields of every result payload, ``timestamp`` (= ``time``) too."""
    data = result.base_dict()
    data["timestamp"] = data["time"]
    return data


def camera_payload(result: RecognitionResult) -> dict[str, Any]:
    """Return the ``cameras/<camera>`` payload: the result and ``personCount``."""
    data = result.as_dict(face=face_payload)
    data["timestamp"] = data["time"]
    data["personCount"] = data["counts"][PERSON]
    return data


def status_base(settings: Settings) -> str:
    """Return where ``available`` and ``errors`` go: the matches topic's parent."""
    topic = settings.mqtt_topic_matches
    return topic.rpartition("/")[0] or topic or DEFAULT_BASE


# -- The status topics ---------------------------------------------------------------------


class MqttContract:
    """Publishes ``available``, ``errors`` and the per-camera person counts of one entry."""

    def __init__(
        self, hass: HomeAssistant, entry: DoubleTakeConfigEntry, settings: LiveSettings
    ) -> None:
        """Bind to the entry (its tasks end with it) and its live options."""
        self._hass = hass
        self._entry = entry
        self._settings = settings
        self._online_topic: str | None = None
        self._last_error: dict[str, datetime] = {}
        self._resets: dict[str, CALLBACK_TYPE] = {}

    # Availability

    @callback
    def async_start(self) -> None:
        """Say ``online`` once MQTT is connected (and again on every reconnect).

        On unload, and when Home Assistant stops (entries are not unloaded then), the
        topic becomes ``offline`` and pending person counts go to 0.
        """
        self._entry.async_create_background_task(
            self._hass, self._async_announce(), "double_take mqtt online"
        )
        self._entry.async_on_unload(self.async_stop)
        self._entry.async_on_unload(
            self._hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, self._async_ha_stop)
        )

    async def _async_announce(self) -> None:
        if not await mqtt.async_wait_for_mqtt_client(self._hass):
            return
        self._entry.async_on_unload(
            mqtt.async_subscribe_connection_status(self._hass, self._connection_changed)
        )
        if mqtt.is_connected(self._hass):
            await self._async_publish_online()

    @callback
    def _connection_changed(self, connected: bool) -> None:
        # A broker restarted without persistence has forgotten the retained ``online``.
        if connected:
            self._entry.async_create_background_task(
                self._hass, self._async_publish_online(), "double_take mqtt online"
            )

    async def _async_publish_online(self) -> None:
        if (settings := self._publishing()) is None:
            return
        topic = f"{status_base(settings)}/{AVAILABLE}"
        if await self._async_send(topic, ONLINE, retain=True):
            self._online_topic = topic

    async def async_stop(self) -> None:
        """``offline`` where ``online`` was said; person counts still pending go to 0."""
        resets, self._resets = self._resets, {}
        for cancel in resets.values():
            cancel()
        if self._publishing() is None:
            return
        for count_topic in resets:
            await self._async_send(count_topic, "0", retain=True)
        if (topic := self._online_topic) is not None:
            self._online_topic = None
            await self._async_send(topic, OFFLINE, retain=True)

    async def _async_ha_stop(self, _event: Event) -> None:
        await self.async_stop()

    # Person counts

    async def async_publish_result(self, result: RecognitionResult) -> None:
        """Publish the camera's person count (retained); back to 0 after camera_reset.

        Called by the publisher after the result topics, when it publishes on MQTT.
        """
        settings = self._settings.current
        topic = f"{settings.mqtt_topic_cameras}/{camera_topic_level(result.camera)}/{PERSON}"
        if (cancel := self._resets.pop(topic, None)) is not None:
            cancel()
        count = result.counts[PERSON]
        if count:
            # Before any await: results of one camera published at once must not
            # each keep a timer (only the last one stored would be cancelled).
            self._resets[topic] = async_call_later(
                self._hass, settings.camera_reset, self._reset_callback(topic)
            )
        if self._online_topic is None:
            # mqtt_publish was turned on after setup, or MQTT came up late.
            await self._async_publish_online()
        await mqtt.async_publish(self._hass, topic, str(count), qos=0, retain=True)

    def _reset_callback(self, topic: str) -> Callable[[datetime], None]:
        @callback
        def reset(_now: datetime) -> None:
            self._resets.pop(topic, None)
            if self._publishing() is not None:
                self._entry.async_create_background_task(
                    self._hass,
                    self._async_send(topic, "0", retain=True),
                    "double_take mqtt person reset",
                )

        return reset

    # Errors

    @callback
    def detector_failed(self, name: str, error: str) -> None:
        """Report a failed detector call or check (from ``HealthMonitor``)."""
        self._error(SOURCE_DETECTOR, name, error)

    @callback
    def frigate_failed(self, err: Exception) -> None:
        """Report a failed request to Frigate (unreachable, refused credentials)."""
        self._error(SOURCE_FRIGATE, "Frigate", str(err) or type(err).__name__)

    @callback
    def _error(self, source: str, name: str, error: str) -> None:
        if (settings := self._publishing()) is None:
            return
        key = f"{source}:{name}"
        now = dt_util.utcnow()
        last = self._last_error.get(key)
        if last is not None and now - last < ERROR_INTERVAL:
            return
        self._last_error[key] = now
        error = error[:ERROR_LIMIT]
        payload = {
            "source": source,
            "name": name,
            "error": error,
            "message": f"{name}: {error}",
            "time": dt_util.as_local(now).isoformat(),
        }
        self._entry.async_create_background_task(
            self._hass,
            self._async_send(
                f"{status_base(settings)}/{ERRORS}",
                orjson.dumps(payload).decode(),
                retain=False,
            ),
            "double_take mqtt error",
        )

    # Helpers

    def _publishing(self) -> Settings | None:
        """Return the settings when publishing is on and MQTT is set up, else None."""
        settings = self._settings.current
        if (
            not settings.mqtt_publish
            or not self._hass.config_entries.async_loaded_entries(mqtt.DOMAIN)
        ):
            return None
        return settings

    async def _async_send(self, topic: str, payload: str, *, retain: bool) -> bool:
        """Publish; a failure is logged at debug level (the result topics tell outages)."""
        try:
            await mqtt.async_publish(self._hass, topic, payload, qos=0, retain=retain)
        except (HomeAssistantError, OSError) as err:
            _LOGGER.debug("Publishing on %s failed: %s", topic, err)
            return False
        return True
