"""Camera sources: any Home Assistant camera, recognised when a trigger entity fires.

For users without Frigate (UniFi Protect, Reolink, Blue Iris, …): a camera subentry
names a ``camera`` entity and a trigger — an entity whose state turns ``on`` (a person
sensor, an ``input_boolean``) or an ``event`` entity that fires. A run then takes
``attempts`` snapshots ``delay`` seconds apart and goes through the same recognition
and side effects as a Frigate event (history source ``camera``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.const import STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers.event import async_track_state_change_event

from .areas import room_for
from .camera_switches import CameraSwitches
from .const import (
    CONF_ATTEMPTS,
    CONF_CAMERA_ENTITY,
    CONF_DELAY,
    CONF_DETECTORS,
    CONF_ROOM,
    CONF_TRIGGER,
    SOURCE_CAMERA,
    SUBENTRY_CAMERA,
)
from .options import LiveSettings
from .pipeline import ImageLoop, Job, Recognizer
from .publish import ResultPublisher
from .sources import CameraEntityImage

if TYPE_CHECKING:
    from .data import DoubleTakeConfigEntry

_LOGGER = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 5
DEFAULT_DELAY = 1.0
EVENT_DOMAIN = "event"


@dataclass(frozen=True, slots=True)
class CameraSource:
    """One camera subentry: which camera, what starts a run, how the run goes."""

    camera_entity: str
    trigger: str
    attempts: int = DEFAULT_ATTEMPTS
    delay: float = DEFAULT_DELAY
    room: str | None = None
    """An area id; None: the camera entity's area, as for Frigate's cameras."""
    detectors: frozenset[str] = frozenset()
    """Detector subentry ids; empty: every detector serving the camera."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CameraSource:
        """Read a camera subentry's data."""
        return cls(
            camera_entity=data[CONF_CAMERA_ENTITY],
            trigger=data[CONF_TRIGGER],
            attempts=int(data.get(CONF_ATTEMPTS, DEFAULT_ATTEMPTS)),
            delay=float(data.get(CONF_DELAY, DEFAULT_DELAY)),
            room=data.get(CONF_ROOM) or None,
            detectors=frozenset(data.get(CONF_DETECTORS) or ()),
        )

    @property
    def camera(self) -> str:
        """The camera's name in results, topics and entity ids: the object id."""
        return self.camera_entity.partition(".")[2]


def camera_sources_of(entry: DoubleTakeConfigEntry) -> list[CameraSource]:
    """Return the entry's camera sources, in the order they were added."""
    return [
        CameraSource.from_data(subentry.data)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_CAMERA
    ]


def starts_run(old: str | None, new: str | None, trigger_domain: str) -> bool:
    """Whether a trigger's state change starts a run.

    ``on`` after ``off`` (or after ``unknown``: the first detection of a new sensor);
    an event entity's new timestamp. A state restored at start, or coming back after
    ``unavailable``, is not a new detection; a trigger staying ``on`` is not either.
    """
    if old is None or new is None or old == STATE_UNAVAILABLE:
        return False
    if trigger_domain == EVENT_DOMAIN:
        return new not in (STATE_UNAVAILABLE, STATE_UNKNOWN) and new != old
    return new == STATE_ON and old != STATE_ON


class CameraSources:
    """Watches the triggers of an entry's camera sources and runs them, one at a time each.

    A trigger firing again while its camera's run goes on starts nothing: that run is
    still taking snapshots of the same scene.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: DoubleTakeConfigEntry,
        sources: list[CameraSource],
        *,
        settings: LiveSettings,
        recognizer: Recognizer,
        publisher: ResultPublisher,
        switches: CameraSwitches,
    ) -> None:
        """Bind the sources; no trigger is watched until ``async_start``."""
        self._hass = hass
        self._entry = entry
        self.sources = sources
        self._settings = settings
        self._recognizer = recognizer
        self._publisher = publisher
        self._switches = switches
        self._runs: dict[str, asyncio.Task[None]] = {}

    @property
    def cameras(self) -> list[str]:
        """The cameras' names."""
        return [source.camera for source in self.sources]

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Watch the triggers; returns the callback that stops watching and running."""
        by_trigger: dict[str, list[CameraSource]] = {}
        for source in self.sources:
            by_trigger.setdefault(source.trigger, []).append(source)

        @callback
        def trigger_changed(event: Event[EventStateChangedData]) -> None:
            old, new = event.data["old_state"], event.data["new_state"]
            entity_id = event.data["entity_id"]
            if not starts_run(
                old.state if old else None,
                new.state if new else None,
                entity_id.partition(".")[0],
            ):
                return
            for source in by_trigger.get(entity_id, ()):
                self.async_run(source)

        unsubscribe = (
            async_track_state_change_event(
                self._hass, list(by_trigger), trigger_changed
            )
            if by_trigger
            else None
        )

        @callback
        def stop() -> None:
            if unsubscribe is not None:
                unsubscribe()
            for task in self._runs.values():
                task.cancel()

        return stop

    @callback
    def async_run(self, source: CameraSource) -> None:
        """Start a run of ``source`` unless one goes on or its camera is switched off."""
        if source.camera in self._runs:
            _LOGGER.debug("%s fired again during its run", source.trigger)
            return
        if not self._switches.is_on(source.camera):
            _LOGGER.debug("Recognition is switched off for %s", source.camera)
            return
        task = self._entry.async_create_background_task(
            self._hass, self._async_run(source), f"double_take camera {source.camera}"
        )
        self._runs[source.camera] = task
        task.add_done_callback(lambda _: self._runs.pop(source.camera, None))

    async def _async_run(self, source: CameraSource) -> None:
        settings = self._settings.for_camera(source.camera)
        try:
            result = await self._recognizer.recognize(
                Job(
                    camera=source.camera,
                    room=self._room(source),
                    loops=(
                        ImageLoop(
                            SOURCE_CAMERA,
                            source.attempts,
                            CameraEntityImage(self._hass, source.camera_entity),
                        ),
                    ),
                    run=replace(settings.run, delay=source.delay),
                    rules=settings.rules,
                    detector_ids=source.detectors,
                )
            )
            await self._publisher.async_publish(result, source=SOURCE_CAMERA)
        except Exception:  # noqa: BLE001
            # One failed run must not stop the camera's next ones.
            _LOGGER.exception("Recognising %s failed", source.camera_entity)

    def _room(self, source: CameraSource) -> str:
        """Return the chosen area's name, else the camera entity's area (``room_for``)."""
        if source.room and (
            area := ar.async_get(self._hass).async_get_area(source.room)
        ):
            return area.name
        return room_for(self._hass, source.camera)
