"""Side effects of a finished result, in order (SPEC §4 step 7, §6.3, §6.4).

Saved images, entities (dispatcher), bus events, MQTT messages and Frigate's sub label;
one failing does not stop the others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from dataclasses import replace
import logging
import re
from typing import Any
import unicodedata

import orjson

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .api.errors import ApiError
from .api.frigate import FrigateClient
from .const import EVENT_MATCH, EVENT_RESULT, EVENT_UNKNOWN, SOURCE_FRIGATE
from .media_titles import saved_image_stem
from .mqtt_contract import (
    MqttContract,
    base_payload,
    camera_payload,
    camera_topic_level,
    face_payload,
)
from .options import LiveSettings, Settings
from .persons import PersonRegistry
from .recorder import ResultRecorder
from .result import FaceHit, RecognitionResult
from .signals import UNKNOWN_PERSON, camera_signal, person_signal
from .storage import MATCHES, UNKNOWN_FOLDER, InvalidNameError, MediaStore

_LOGGER = logging.getLogger(__name__)

RECENT_RESULTS = 20
# Seconds the image write waits for the MQTT messages to be written (a slow broker must
# not hold the entities and bus events back for long).
MQTT_HEAD_START = 0.1
# Images to save: planned paths by ``id(hit)``, and the files (path → bytes).
type _Saving = tuple[dict[int, str], dict[str, bytes]]
# Unknown faces listed in bus events, MQTT payloads and action responses (a detector may
# report thousands); the counts stay exact.
MAX_LISTED_UNKNOWNS = 20

_NOT_SLUG = re.compile(r"[^a-z0-9-]")
_SPACES = re.compile(r"\s+")


def slug(name: str) -> str:
    """Topic slug of Double Take: lower case, whitespace → ``-``, other characters dropped.

    NFC first: a decomposed ``José`` would otherwise lose only its accent and share
    ``jose`` with Jose.
    """
    normalized = unicodedata.normalize("NFC", name)
    return _NOT_SLUG.sub("", _SPACES.sub("-", normalized.lower()))


def listed(result: RecognitionResult) -> RecognitionResult:
    """Return ``result`` with at most MAX_LISTED_UNKNOWNS unknown faces (for payloads).

    The counts do not depend on the list, so they stay exact.
    """
    if len(result.unknowns) <= MAX_LISTED_UNKNOWNS:
        return result
    return replace(result, unknowns=result.unknowns[:MAX_LISTED_UNKNOWNS])


def slim(result: RecognitionResult) -> RecognitionResult:
    """Return a copy of ``result`` to keep: what diagnostics shows, no image bytes."""

    def without_images(hits: tuple[FaceHit, ...]) -> tuple[FaceHit, ...]:
        return tuple(replace(hit, image=b"") for hit in hits)

    kept = listed(result)
    return replace(
        kept,
        matches=without_images(kept.matches),
        misses=without_images(kept.misses),
        unknowns=without_images(kept.unknowns),
        analyzed=(),
    )


def face_event_data(result: RecognitionResult, hit: FaceHit) -> dict[str, Any]:
    """Build the data of a ``double_take_match`` / ``double_take_unknown`` event."""
    return {
        "name": hit.name,
        "confidence": hit.face.confidence,
        "camera": result.camera,
        "room": result.room,
        "detector": hit.detector,
        "type": hit.type,
        "event_id": result.id,
        "zones": list(result.zones),
        "box": hit.face.box.as_dict(),
        "image": hit.image_path,
    }


def fire_events(hass: HomeAssistant, result: RecognitionResult) -> None:
    """One event per matched name, one for unknown faces, one with the whole result."""
    for hit in result.matches:
        hass.bus.async_fire(EVENT_MATCH, face_event_data(result, hit))
    if result.unknowns:
        data = face_event_data(result, result.unknowns[0])
        data["count"] = len(result.unknowns)
        hass.bus.async_fire(EVENT_UNKNOWN, data)
    hass.bus.async_fire(EVENT_RESULT, listed(result).as_dict())


def mqtt_messages(
    settings: Settings, result: RecognitionResult
) -> list[tuple[str, str]]:
    """List the (topic, payload) pairs the original Double Take published for a result."""
    messages: list[tuple[str, str]] = []
    base = base_payload(result)
    for hit in result.matches:
        topic_name = slug(hit.name)
        if topic_name:
            payload = {**base, "match": face_payload(hit)}
            messages.append(
                (f"{settings.mqtt_topic_matches}/{topic_name}", _dump(payload))
            )
    if result.unknowns:
        unknowns = [face_payload(hit) for hit in result.unknowns[:MAX_LISTED_UNKNOWNS]]
        payload = {**base, "unknown": unknowns[0], "unknowns": unknowns}
        messages.append(
            (f"{settings.mqtt_topic_matches}/{UNKNOWN_PERSON}", _dump(payload))
        )
    if result.matches or result.misses or result.unknowns:
        # Camera names keep their underscores, lower-cased as the original did (J#163).
        camera = camera_topic_level(result.camera)
        messages.append(
            (
                f"{settings.mqtt_topic_cameras}/{camera}",
                _dump(camera_payload(listed(result))),
            )
        )
    return messages


async def publish_mqtt(
    hass: HomeAssistant, settings: Settings, result: RecognitionResult
) -> None:
    """Publish the result topics, not retained (a replay once unlocked a door: F#281).

    All queued at once, in order (started eagerly: the client queues a message before
    its task first waits); each then waits until its message is written.
    """
    await asyncio.gather(
        *(
            hass.async_create_task(
                mqtt.async_publish(hass, topic, payload, qos=0, retain=False),
                f"double_take publish {topic}",
                eager_start=True,
            )
            for topic, payload in mqtt_messages(settings, result)
        )
    )


def _dump(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


class ResultPublisher:
    """Turns finished results into everything users see of them."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        settings: LiveSettings,
        media: MediaStore,
        persons: PersonRegistry,
        frigate: FrigateClient | None,
        recorder: ResultRecorder,
        contract: MqttContract | None = None,
    ) -> None:
        """Bind the publisher to its entry's settings, folders, persons, Frigate, history."""
        self._hass = hass
        self._entry_id = entry_id
        self._settings = settings
        self._media = media
        self._persons = persons
        self._frigate = frigate
        self._recorder = recorder
        self._contract = contract
        self.recent_results: deque[RecognitionResult] = deque(maxlen=RECENT_RESULTS)
        """Slim copies (``slim``) of the last results, for diagnostics."""
        self._mqtt_outage = _Outage("Publishing on MQTT")
        self._mqtt_missing_told = False
        self._sub_label_outage = _Outage("Writing Frigate sub labels")
        self._history_outage = _Outage("Recording the result history")

    async def async_publish(
        self, result: RecognitionResult, *, source: str
    ) -> RecognitionResult:
        """Publish ``result``; returns it with the paths of its saved images.

        ``source`` (``SOURCE_FRIGATE``, ``SOURCE_CAMERA``, ``SOURCE_MANUAL``) goes to
        the history; only a Frigate event's result is written back as a sub label.

        MQTT first, so that nothing delays what automations outside Home Assistant
        see: its payloads name the paths the images are saved at right after. The
        images are written once the messages are on the socket (a file write running
        meanwhile holds the event loop's MQTT write back), or after MQTT_HEAD_START
        when the broker is slow. Entities and bus events follow once the images are
        on disk (an automation may open them), with the paths that were written.
        """
        settings = self._settings.current
        planned, saving = self._plan_images(result, settings)
        publishing: asyncio.Task[None] | None = None
        if settings.mqtt_publish:
            publishing = self._hass.async_create_task(
                self._mqtt_outage.run(self._async_publish_mqtt(settings, planned)),
                f"double_take publish {result.id}",
                eager_start=True,
            )
            await asyncio.wait((publishing,), timeout=MQTT_HEAD_START)
        result = await self._async_save_images(result, saving)
        self.recent_results.append(slim(result))
        self._async_update_entities(result)
        try:
            fire_events(self._hass, result)
        except Exception:  # noqa: BLE001
            _LOGGER.exception("Firing events for %s failed", result.id)
        if publishing is not None:
            await publishing
        if (
            source == SOURCE_FRIGATE
            and settings.update_sub_label
            and result.matches
            and self._frigate is not None
        ):
            label = ", ".join(sorted(hit.name for hit in result.matches))
            await self._sub_label_outage.run(
                self._frigate.set_sub_label(
                    result.id, label, result.best_confidence / 100
                )
            )
        # Last: the history is for review, never in the way of what automations see.
        await self._history_outage.run(self._recorder.async_record(result, source))
        return result

    async def _async_publish_mqtt(
        self, settings: Settings, result: RecognitionResult
    ) -> None:
        if not self._hass.config_entries.async_loaded_entries(mqtt.DOMAIN):
            # Recognition without Frigate (the quick start) may run without MQTT.
            if not self._mqtt_missing_told:
                self._mqtt_missing_told = True
                _LOGGER.info("MQTT is not set up: results are not published on MQTT")
            return
        await publish_mqtt(self._hass, settings, result)
        if self._contract is not None:
            await self._contract.async_publish_result(result)

    @callback
    def _async_update_entities(self, result: RecognitionResult) -> None:
        """Tell the entities of each matched person, of unknown and of the camera."""
        for hit in result.matches:
            self._persons.async_add(hit.name)
            # NFC, as the person's entities know the name (``validate_name``).
            name = unicodedata.normalize("NFC", hit.name)
            async_dispatcher_send(
                self._hass, person_signal(self._entry_id, name), result, hit
            )
        if result.unknowns:
            async_dispatcher_send(
                self._hass,
                person_signal(self._entry_id, UNKNOWN_PERSON),
                result,
                result.unknowns[0],
            )
        async_dispatcher_send(
            self._hass, camera_signal(self._entry_id, result.camera), result
        )

    @callback
    def _plan_images(
        self, result: RecognitionResult, settings: Settings
    ) -> tuple[RecognitionResult, _Saving | None]:
        """Plan the image of each match, and of unknown faces when asked (no I/O).

        Several unknown faces of one image share its file. Returns the result with the
        planned paths, and what to write (None when there is nothing to save).
        """
        planned: dict[int, str] = {}
        files: dict[str, bytes] = {}
        unknown_files: dict[int, str] = {}
        hits: list[tuple[FaceHit, str, str | None]] = [
            (hit, MATCHES, hit.name) for hit in result.matches
        ]
        if settings.save_unknown:
            hits += [(hit, UNKNOWN_FOLDER, None) for hit in result.unknowns]
        for hit, folder, person in hits:
            if person is None and id(hit.image) in unknown_files:
                planned[id(hit)] = unknown_files[id(hit.image)]
                continue
            stem = saved_image_stem(result, hit)
            try:
                path = self._media.plan_image_path(folder, person, stem, hit.image)
            except InvalidNameError as err:
                # Once per name, not once per event (no image is saved for it).
                self._persons.warn_invalid_name(hit.name, err)
                continue
            files[path] = hit.image
            planned[id(hit)] = path
            if person is None:
                unknown_files[id(hit.image)] = path
        if not files:
            return result, None
        return result.with_image_paths(planned), (planned, files)

    async def _async_save_images(
        self, result: RecognitionResult, saving: _Saving | None
    ) -> RecognitionResult:
        """Write the planned images (executor); return ``result`` with those written."""
        if saving is None:
            return result
        planned, files = saving
        try:
            written = await self._hass.async_add_executor_job(
                self._media.write_images, files
            )
        except Exception:  # noqa: BLE001
            _LOGGER.warning("Saving images failed", exc_info=True)
            return result
        return result.with_image_paths(
            {key: path for key, path in planned.items() if path in written}
        )


class _Outage:
    """A side effect that may keep failing (a broker or Frigate down): logged once.

    The first failure is logged, and the first success after it; failures in between
    only at debug level, so a long outage does not log a line per event.
    """

    def __init__(self, what: str) -> None:
        self._what = what
        self._failing = False

    async def run(self, step: Awaitable[object]) -> None:
        """Await ``step``; a failure is logged, never raised (side effects are independent)."""
        try:
            await step
        except (ApiError, HomeAssistantError, OSError) as err:
            if self._failing:
                _LOGGER.debug("%s failed again: %s", self._what, err)
                return
            self._failing = True
            _LOGGER.warning("%s failed: %s", self._what, err or type(err).__name__)
        except Exception:  # noqa: BLE001
            _LOGGER.warning("%s failed", self._what, exc_info=True)
        else:
            if self._failing:
                self._failing = False
                _LOGGER.info("%s works again", self._what)
