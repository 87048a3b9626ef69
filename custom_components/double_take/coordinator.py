"""The event-driven hub: Frigate MQTT events in, recognition results out.

Not a polling coordinator: an MQTT message starts a run, the run's result goes to files,
entities (through the dispatcher), bus events, MQTT and Frigate's sub label.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
import logging
import random
from typing import TYPE_CHECKING
import uuid

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .api.errors import ApiAuthError, ApiError
from .api.frigate import FrigateClient, FrigateConfig
from .const import DOMAIN
from .events import EventRejected, EventTracker, FrigateEvent, parse_event
from .health import HealthMonitor
from .ids import person_device_id
from .index import PersonIndex
from .options import Settings
from .pipeline import DetectorHandle, ImageSource, Recognizer, RunSettings
from .publish import fire_events, publish_mqtt
from .result import FaceHit, RecognitionResult, merge
from .storage import MATCHES, UNKNOWN, InvalidNameError, MediaStore, validate_name

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

_LOGGER = logging.getLogger(__name__)

SIGNAL_RESULT = "double_take_result_{}"
SIGNAL_PERSON_RESULT = "double_take_person_result_{}_{}"
SIGNAL_CAMERA_RESULT = "double_take_camera_result_{}_{}"
SIGNAL_PERSON_ADDED = "double_take_person_added_{}"
SIGNAL_PERSON_REMOVED = "double_take_person_removed_{}"
# Listing a detector's subjects at start must not hold up Home Assistant's start.
SUBJECTS_TIMEOUT = 30
RECENT_RESULTS = 20
# Runs of Frigate events at once. More events wait for a free run, in arrival order: a
# burst then costs the event loop a few runs' work per iteration, not hundreds.
MAX_CONCURRENT_RUNS = 32
# Events waiting for a run; beyond this a new event is skipped with a warning.
MAX_WAITING_RUNS = 1000

UNKNOWN_PERSON = "unknown"

type ImageFetch = Callable[[], Awaitable[bytes]]


def person_signal(entry_id: str, name: str) -> str:
    """Dispatcher signal for the results of one person (names compare case-insensitively)."""
    return SIGNAL_PERSON_RESULT.format(entry_id, name.casefold())


def camera_signal(entry_id: str, camera: str) -> str:
    """Dispatcher signal for the results of one camera."""
    return SIGNAL_CAMERA_RESULT.format(entry_id, camera)


class DoubleTakeCoordinator:
    """Owns the detectors, the Frigate client and the run bookkeeping of one entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        frigate: FrigateClient | None,
        frigate_config: FrigateConfig | None,
        detectors: Sequence[DetectorHandle],
        store: MediaStore,
        index: PersonIndex,
    ) -> None:
        """Prepare everything; nothing is subscribed until ``async_start``."""
        self.hass = hass
        self.entry = entry
        self.frigate = frigate
        self.frigate_config = frigate_config
        self.store = store
        self.index = index
        self.settings = Settings.from_options(entry.options)
        self.health = HealthMonitor(hass, entry, detectors)
        self.recognizer = Recognizer(detectors, self.settings.rules, self.health.report)
        self.tracker = EventTracker()
        self.recent_results: deque[RecognitionResult] = deque(maxlen=RECENT_RESULTS)
        self.disabled_cameras: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: deque[FrigateEvent] = deque()
        self._stopped = False
        self._overflowing = False

    @property
    def detectors(self) -> list[DetectorHandle]:
        """The configured detectors."""
        return self.recognizer.detectors

    @property
    def events_topic(self) -> str | None:
        """Frigate's events topic, or None without Frigate."""
        if self.frigate_config is None:
            return None
        return f"{self.frigate_config.topic_prefix}/events"

    @property
    def persons(self) -> list[str]:
        """Known persons: trained, listed by a detector, or matched before."""
        return self.index.persons

    @callback
    def async_add_person(self, name: str) -> None:
        """Remember a person; entities for a new one appear at once (dispatcher)."""
        try:
            name = validate_name(name)
        except InvalidNameError as err:
            _LOGGER.warning("Ignoring person name %r: %s", name, err)
            return
        if name.casefold() == UNKNOWN_PERSON:
            return
        if self.index.add_person(name):
            _LOGGER.debug("New person %s", name)
            async_dispatcher_send(
                self.hass, SIGNAL_PERSON_ADDED.format(self.entry.entry_id), name
            )

    @callback
    def async_remove_person(self, name: str) -> None:
        """Forget a person; their entities are removed (dispatcher)."""
        display = self.index.display_name(name)
        if display is None:
            return
        self.index.remove_person(display)
        # Removing the device removes the person's entities with it.
        registry = dr.async_get(self.hass)
        identifier = (DOMAIN, person_device_id(self.entry.entry_id, display))
        if device := registry.async_get_device_by_identifier(
            identifier, self.entry.entry_id
        ):
            registry.async_remove_device(device.id)
        async_dispatcher_send(
            self.hass, SIGNAL_PERSON_REMOVED.format(self.entry.entry_id), display
        )

    async def async_discover_persons(self) -> None:
        """Add the persons of the train folder and of every detector that can list them."""
        for name in await self.hass.async_add_executor_job(self.store.train_names):
            self.async_add_person(name)
        for handle in self.detectors:
            try:
                async with asyncio.timeout(SUBJECTS_TIMEOUT):
                    subjects = await handle.detector.list_subjects()
            except (ApiError, TimeoutError) as err:
                _LOGGER.debug("Cannot list the persons of %s: %s", handle.name, err)
                continue
            for name in subjects or ():
                self.async_add_person(name)

    @callback
    def apply_options(self) -> None:
        """Take changed options into use without a reload."""
        self.settings = Settings.from_options(self.entry.options)
        self.recognizer.rules = self.settings.rules

    async def async_subscribe(self) -> CALLBACK_TYPE:
        """Subscribe to Frigate's events topic; returns the unsubscribe callback."""
        topic = self.events_topic
        assert topic is not None
        return await mqtt.async_subscribe(self.hass, topic, self._handle_message, qos=0)

    @callback
    def async_cancel_runs(self) -> None:
        """Cancel runs still in progress and forget waiting events (on unload)."""
        self._stopped = True
        self._waiting.clear()
        for task in self._tasks:
            task.cancel()

    @callback
    def _handle_message(self, message: ReceiveMessage) -> None:
        """Filter a Frigate event message in the event loop and start a run if due."""
        try:
            event = parse_event(message.payload)
        except EventRejected as err:
            _LOGGER.debug("Ignoring message on %s: %s", message.topic, err)
            return
        reason = self.settings.event_filter.skip_reason(event)
        if reason is None and event.camera in self.disabled_cameras:
            reason = "recognition is switched off for this camera"
        if reason is None:
            reason = self.tracker.try_start(event.id)
        if reason is not None:
            _LOGGER.debug(
                "Skipping event %s (%s %s): %s",
                event.id,
                event.type,
                event.camera,
                reason,
            )
            return
        if len(self._waiting) >= MAX_WAITING_RUNS:
            self.tracker.cancel(event.id)
            if not self._overflowing:
                self._overflowing = True
                _LOGGER.warning(
                    "%d Frigate events are waiting for recognition; skipping new"
                    " events until they are done (first skipped: %s)",
                    len(self._waiting),
                    event.id,
                )
            return
        self._waiting.append(event)
        self._start_runs()

    @callback
    def _start_runs(self) -> None:
        """Start waiting events while fewer than MAX_CONCURRENT_RUNS are running."""
        while (
            self._waiting
            and len(self._tasks) < MAX_CONCURRENT_RUNS
            and not self._stopped
        ):
            event = self._waiting.popleft()
            task = self.entry.async_create_background_task(
                self.hass, self._async_run_event(event), f"double_take event {event.id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._run_done)
        if not self._waiting:
            self._overflowing = False

    @callback
    def _run_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._start_runs()

    async def _async_run_event(self, event: FrigateEvent) -> None:
        """Run one Frigate event; whatever happens, release its run."""
        matched = False
        try:
            result = await self.async_recognize(
                job_id=event.id,
                camera=event.camera,
                zones=list(event.current_zones),
                sources=self._frigate_sources(event),
                run=self.settings.run,
            )
            matched = bool(result.matches)
            await self.async_publish(result, frigate_event=True)
        except Exception:  # noqa: BLE001
            # A bug or an unexpected answer in one event must not stop the next ones.
            _LOGGER.exception("Processing Frigate event %s failed", event.id)
        finally:
            self.tracker.finish(event.id, matched)

    def _frigate_sources(self, event: FrigateEvent) -> list[ImageSource]:
        frigate = self.frigate
        assert frigate is not None
        height = self.settings.image_height
        return [
            ImageSource(
                "snapshot",
                self.settings.snapshot_attempts,
                lambda: self._jittered(
                    lambda: frigate.snapshot(event.id, height=height)
                ),
            ),
            ImageSource(
                "latest",
                self.settings.latest_attempts,
                lambda: self._jittered(
                    lambda: frigate.latest(event.camera, height=height)
                ),
            ),
        ]

    def frigate_event_source(self, event_id: str, attempts: int) -> ImageSource:
        """Snapshots of a Frigate event, for the recognize action."""
        frigate = self.frigate
        assert frigate is not None
        height = self.settings.image_height
        return ImageSource(
            "snapshot",
            attempts,
            lambda: self._jittered(lambda: frigate.snapshot(event_id, height=height)),
        )

    async def _jittered(self, request: ImageFetch) -> bytes:
        """Delay a Frigate request by up to ``frigate_jitter`` seconds (old Frigates crashed under bursts)."""
        if self.settings.frigate_jitter > 0:
            await asyncio.sleep(random.uniform(0, self.settings.frigate_jitter))  # noqa: S311
        return await self._frigate_call(request)

    async def _frigate_call[T](self, request: Callable[[], Awaitable[T]]) -> T:
        """Call Frigate; rejected credentials start Home Assistant's re-authentication."""
        try:
            return await request()
        except ApiAuthError:
            # HA shows one reauth flow per entry however often this happens.
            self.entry.async_start_reauth(self.hass)
            raise

    async def async_recognize(
        self,
        *,
        job_id: str | None = None,
        camera: str,
        zones: list[str] | None = None,
        sources: Sequence[ImageSource],
        run: RunSettings,
        room: str | None = None,
    ) -> RecognitionResult:
        """Run the sources through the detectors and merge the answers into a result."""
        outcome = await self.recognizer.run(camera, sources, run)
        matches, misses, unknowns, persons = merge(outcome.images, self.settings.rules)
        return RecognitionResult(
            id=job_id or str(uuid.uuid4()),
            camera=camera,
            room=room or self.room_for(camera),
            zones=zones or [],
            time=dt_util.now(),
            duration=outcome.duration,
            attempts=outcome.attempts,
            matches=matches,
            misses=misses,
            unknowns=unknowns,
            person_count=persons,
            analysed=outcome.images,
        )

    def room_for(self, camera: str) -> str:
        """Return the area of ``camera.<camera>`` (or its device), else the title-cased name."""
        entity = er.async_get(self.hass).async_get(f"camera.{camera}")
        area_id = entity.area_id if entity else None
        if entity and area_id is None and entity.device_id:
            device = dr.async_get(self.hass).async_get(entity.device_id)
            area_id = device.area_id if device else None
        if area_id and (area := ar.async_get(self.hass).async_get_area(area_id)):
            return area.name
        return camera.replace("_", " ").title()

    async def async_publish(
        self, result: RecognitionResult, *, frigate_event: bool
    ) -> None:
        """Side effects in order; one failing does not stop the others (SPEC §4 step 7)."""
        await self._run_step("Saving images", self._async_save_images(result))
        self.recent_results.append(result)
        self._async_update_entities(result)
        try:
            fire_events(self.hass, result)
        except Exception:  # noqa: BLE001
            _LOGGER.exception("Firing events for %s failed", result.id)
        if self.settings.mqtt_publish:
            await self._run_step(
                "Publishing on MQTT", publish_mqtt(self.hass, self.settings, result)
            )
        if frigate_event and self.settings.update_sub_label and result.matches:
            await self._run_step(
                "Writing the Frigate sub label", self._async_sub_label(result)
            )

    @callback
    def _async_update_entities(self, result: RecognitionResult) -> None:
        """Tell the entities of each matched person, of unknown and of the camera."""
        entry_id = self.entry.entry_id
        for hit in result.matches:
            self.async_add_person(hit.name)
            async_dispatcher_send(
                self.hass, person_signal(entry_id, hit.name), result, hit
            )
        if result.unknowns:
            async_dispatcher_send(
                self.hass,
                person_signal(entry_id, UNKNOWN_PERSON),
                result,
                result.unknowns[0],
            )
        async_dispatcher_send(self.hass, camera_signal(entry_id, result.camera), result)
        async_dispatcher_send(self.hass, SIGNAL_RESULT.format(entry_id), result)

    async def _run_step(self, what: str, step: Awaitable[None]) -> None:
        try:
            await step
        except Exception:  # noqa: BLE001
            # Each side effect is independent: log it and carry on with the next one.
            _LOGGER.warning("%s failed", what, exc_info=True)

    async def _async_save_images(self, result: RecognitionResult) -> None:
        """Save the image of each match, and of unknown faces when asked, in the executor."""
        for hit in result.matches:
            hit.image_path = await self._async_save(result, hit, MATCHES, hit.name)
        if not self.settings.save_unknown:
            return
        # Several unknown faces may come from one image: store that image once.
        saved: dict[int, str | None] = {}
        for hit in result.unknowns:
            key = id(hit.image)
            if key not in saved:
                saved[key] = await self._async_save(result, hit, UNKNOWN, None)
            hit.image_path = saved[key]

    async def _async_save(
        self, result: RecognitionResult, hit: FaceHit, folder: str, person: str | None
    ) -> str | None:
        stem = f"{result.id}-{hit.type}-{hit.attempt}"
        try:
            return await self.hass.async_add_executor_job(
                self.store.save_image, folder, person, stem, hit.image
            )
        except InvalidNameError as err:
            _LOGGER.warning("Not saving the image of %r: %s", hit.name, err)
            return None

    async def _async_sub_label(self, result: RecognitionResult) -> None:
        assert self.frigate is not None
        label = ", ".join(sorted(hit.name for hit in result.matches))
        frigate = self.frigate
        await self._frigate_call(
            lambda: frigate.set_sub_label(
                result.id, label, result.best_confidence / 100
            )
        )
