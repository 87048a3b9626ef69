"""Frigate events in: the MQTT subscription, the filters and the queue of runs.

An MQTT message is parsed and filtered in the event loop; a due event waits in a bounded
queue for one of MAX_CONCURRENT_RUNS runs, whose result goes to the publisher. A burst
is taken in slices: at most MESSAGES_PER_ITERATION messages and RUNS_PER_ITERATION new
runs per event-loop iteration, the rest in the next ones, in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import logging
from typing import TYPE_CHECKING

from homeassistant.components import mqtt
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from .api.events import EventRejected, EventTracker, FrigateEvent, parse_event
from .areas import room_for
from .camera_switches import CameraSwitches
from .const import SOURCE_FRIGATE
from .frigate_connection import FrigateConnection
from .mqtt_snapshots import PushedSnapshots, SnapshotFeed
from .options import LiveSettings
from .pipeline import Job, Recognizer
from .publish import ResultPublisher

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

    from .data import DoubleTakeConfigEntry

_LOGGER = logging.getLogger(__name__)

# Runs of Frigate events at once. More events wait for a free run, in arrival order: a
# burst then costs the event loop a few runs' work per iteration, not hundreds.
MAX_CONCURRENT_RUNS = 32
# Events waiting for a run; beyond this a new event is skipped with a warning.
MAX_WAITING_RUNS = 1000
# Home Assistant's MQTT client hands over up to 500 messages in one callback: parsing
# them all at once held the event loop for 20–25 ms on the development machine (with
# the client's own work); 50 take about 1.5 ms there.
MESSAGES_PER_ITERATION = 50
# Messages held for the next iterations, and their payloads' size (a Frigate event is a
# few kB); beyond either a message is dropped with a warning.
MAX_HELD_MESSAGES = 5000
MAX_HELD_BYTES = 32 * 1024 * 1024
# A new run sends its first requests (snapshot and latest) in the next iteration: 32 of
# them at once took about 20 ms there.
RUNS_PER_ITERATION = 4


class IterationBudget:
    """At most ``limit`` pieces of work per event-loop iteration.

    The first piece of an iteration schedules the reset (``call_soon``: it runs in the
    next iteration), which then calls ``resume`` to go on with the work held back.
    """

    def __init__(
        self, hass: HomeAssistant, limit: int, resume: Callable[[], None]
    ) -> None:
        """Allow ``limit`` pieces per iteration; ``resume`` carries on afterwards."""
        self._hass = hass
        self._limit = limit
        self._resume = resume
        self._used = 0

    @callback
    def take(self) -> bool:
        """Count one more piece of work in this iteration; False when none is left."""
        if self._used >= self._limit:
            return False
        if self._used == 0:
            self._hass.loop.call_soon(self._next_iteration)
        self._used += 1
        return True

    @callback
    def _next_iteration(self) -> None:
        self._used = 0
        self._resume()


class EventIntake:
    """Receives Frigate's events of one entry and runs the due ones."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: DoubleTakeConfigEntry,
        *,
        frigate: FrigateConnection,
        settings: LiveSettings,
        recognizer: Recognizer,
        publisher: ResultPublisher,
        switches: CameraSwitches,
        snapshots: SnapshotFeed | None = None,
    ) -> None:
        """Bind the intake; nothing is subscribed until ``async_subscribe``."""
        self._hass = hass
        self._entry = entry
        self._frigate = frigate
        self._settings = settings
        self._recognizer = recognizer
        self._publisher = publisher
        self._switches = switches
        self._snapshots = snapshots
        self.tracker = EventTracker()
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: deque[FrigateEvent] = deque()
        self._held: deque[ReceiveMessage] = deque()
        self._held_bytes = 0
        self._messages = IterationBudget(
            hass, MESSAGES_PER_ITERATION, self._handle_held
        )
        self._starts = IterationBudget(hass, RUNS_PER_ITERATION, self._start_runs)
        self._stopped = False
        self._overflowing = False
        self._holding_too_many = False

    async def async_subscribe(self) -> CALLBACK_TYPE:
        """Subscribe to Frigate's events topic; returns the unsubscribe callback."""
        return await mqtt.async_subscribe(
            self._hass, self._frigate.events_topic, self._handle_message, qos=0
        )

    @callback
    def load(self) -> dict[str, int]:
        """How busy the intake is (for diagnostics): runs, waiting events, held messages."""
        return {
            "running": len(self._tasks),
            "waiting": len(self._waiting),
            "held_messages": len(self._held),
            "remembered_events": len(self.tracker),
        }

    @callback
    def async_stop(self) -> None:
        """Cancel runs still in progress and forget waiting events (on unload)."""
        self._stopped = True
        self._waiting.clear()
        self._held.clear()
        self._held_bytes = 0
        for task in self._tasks:
            task.cancel()

    @callback
    def _handle_message(self, message: ReceiveMessage) -> None:
        """Take a Frigate event message now, or in a next iteration during a burst."""
        if not self._held and self._messages.take():
            self._take_message(message)
            return
        size = len(message.payload)
        if (
            len(self._held) >= MAX_HELD_MESSAGES
            or self._held_bytes + size > MAX_HELD_BYTES
        ):
            if not self._holding_too_many:
                self._holding_too_many = True
                _LOGGER.warning(
                    "%d Frigate event messages are waiting to be read; dropping new"
                    " ones until they are (first dropped on %s)",
                    len(self._held),
                    message.topic,
                )
            return
        self._held.append(message)
        self._held_bytes += size

    @callback
    def _handle_held(self) -> None:
        """Take the messages held back, as many as this iteration allows."""
        while self._held and not self._stopped and self._messages.take():
            message = self._held.popleft()
            self._held_bytes -= len(message.payload)
            self._take_message(message)
        if not self._held:
            self._holding_too_many = False

    @callback
    def _take_message(self, message: ReceiveMessage) -> None:
        """Filter a Frigate event message in the event loop and queue it if due."""
        if message.retain:
            # Frigate never retains its events: a retained one is a replay (of an old
            # match, at every start and reconnect), not something happening now.
            _LOGGER.debug("Ignoring retained message on %s", message.topic)
            return
        try:
            event = parse_event(message.payload)
        except EventRejected as err:
            _LOGGER.debug("Ignoring message on %s: %s", message.topic, err)
            return
        if (reason := self._skip_reason(event)) is not None:
            _LOGGER.debug(
                "Skipping event %s (%s %s): %s",
                event.id,
                event.type,
                event.camera,
                reason,
            )
            return
        self._enqueue(event)

    @callback
    def _enqueue(self, event: FrigateEvent) -> None:
        """Queue an event whose run is claimed; a full queue skips it (one warning)."""
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

    def _skip_reason(self, event: FrigateEvent) -> str | None:
        """Why the event is not run now; None claims a run for it.

        An update of an event whose run is in progress is remembered by the tracker
        and runs next if that run ends without a match.
        """
        reason = self._settings.current.event_filter.skip_reason(event)
        if reason is None and not self._switches.is_on(event.camera):
            reason = "recognition is switched off for this camera"
        if reason is None and self._frigate.waits_for_face(
            event, self._settings.for_camera(event.camera)
        ):
            reason = "Frigate has not seen a face yet (require_face)"
        return reason if reason is not None else self.tracker.try_start(event.id, event)

    @callback
    def _start_runs(self) -> None:
        """Start waiting events while fewer than MAX_CONCURRENT_RUNS are running."""
        while (
            self._waiting
            and len(self._tasks) < MAX_CONCURRENT_RUNS
            and not self._stopped
            and self._starts.take()
        ):
            event = self._waiting.popleft()
            task = self._entry.async_create_background_task(
                self._hass, self._async_run(event), f"double_take event {event.id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._run_done)
        if not self._waiting:
            self._overflowing = False

    @callback
    def _run_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._start_runs()

    async def _async_run(self, event: FrigateEvent) -> None:
        """Run one Frigate event; whatever happens, release its run."""
        settings = self._settings.for_camera(event.camera)
        matched = False
        cancelled = False
        pushed: PushedSnapshots | None = None
        try:
            loops = self._frigate.event_loops(event, settings)
            if self._snapshots is not None and settings.mqtt_snapshots:
                pushed = self._snapshots.open(event.camera)
            result = await self._recognizer.recognize(
                Job(
                    id=event.id,
                    camera=event.camera,
                    room=room_for(self._hass, event.camera),
                    zones=event.current_zones,
                    loops=loops if pushed is None else (*loops, pushed.loop()),
                    run=settings.run,
                    rules=settings.rules,
                )
            )
            matched = bool(result.matches)
            await self._publisher.async_publish(result, source=SOURCE_FRIGATE)
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception:  # noqa: BLE001
            # A bug or an unexpected answer in one event must not stop the next ones.
            _LOGGER.exception("Processing Frigate event %s failed", event.id)
        finally:
            if pushed is not None:
                pushed.close()
            self._run_finished(event, matched, cancelled)

    @callback
    def _run_finished(
        self, event: FrigateEvent, matched: bool, cancelled: bool
    ) -> None:
        """Release the event's run; an update that came during it runs next."""
        if (update := self.tracker.finish(event.id, matched)) is None:
            return
        if cancelled or self._stopped or not self._switches.is_on(update.camera):
            self.tracker.cancel(update.id)
            return
        _LOGGER.debug(
            "Running event %s again for an update received during its run", update.id
        )
        self._enqueue(update)
