"""Detector health: learnt from real calls, re-checked with back-off, repaired after 10 minutes.

A detector that fails is checked again after 30 s, then 60 s, 120 s … up to 10 minutes; a
healthy one that has not been used for 10 minutes is checked once then. After 10 minutes
of failure a repair issue tells the user; it disappears when the detector answers again.
Going unavailable and coming back are each logged once, at info level.

Why not a ``DataUpdateCoordinator`` per detector: health is learnt mostly from the real
recognition calls, not from polling. Reporting each call to a coordinator
(``async_set_updated_data``) would notify its entity on every call — hundreds of state
writes a second in a burst of Frigate events — where this monitor signals only changes,
and the coordinator logs a failed call at ERROR where the quality scale asks for one info
line. What is left, one timer with a per-detector back-off, is the few lines of ``_tick``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from homeassistant.util.signal_type import SignalType

from .api.errors import ApiError
from .const import DOMAIN
from .pipeline import DetectorHandle
from .signals import health_signal

if TYPE_CHECKING:
    from .data import DoubleTakeConfigEntry

_LOGGER = logging.getLogger(__name__)

TICK = timedelta(seconds=30)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(minutes=10)
IDLE_CHECK = timedelta(minutes=10)
REPAIR_AFTER = timedelta(minutes=10)
ISSUE_UNREACHABLE = "detector_unreachable"


@dataclass(slots=True)
class DetectorHealth:
    """What we know about one detector's reachability."""

    available: bool | None = None
    error: str | None = None
    failing_since: datetime | None = None
    last_activity: datetime | None = None
    next_check: datetime | None = None
    failures: int = 0
    checking: bool = False


class HealthMonitor:
    """Tracks every detector of an entry; entities read ``states`` and listen to SIGNAL_HEALTH."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: DoubleTakeConfigEntry,
        detectors: Sequence[DetectorHandle],
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        """Start with every detector's state unknown.

        ``on_error`` is told the detector's name and the error of every failed call or
        check (the MQTT ``errors`` topic rate-limits them).
        """
        self.hass = hass
        self._on_error = on_error
        self.entry = entry
        self._detectors = {handle.id: handle for handle in detectors}
        self.states = {handle.id: DetectorHealth() for handle in detectors}

    @property
    def signal(self) -> SignalType[str]:
        """Dispatcher signal sent with a detector id when its health changes."""
        return health_signal(self.entry.entry_id)

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Check every detector now, then tick; returns the stop callback."""
        now = dt_util.utcnow()
        for state in self.states.values():
            state.next_check = now
        self._tick(now)
        unsub_tick = async_track_time_interval(
            self.hass,
            self._tick,
            TICK,
            name="double_take detector health",
            cancel_on_shutdown=True,
        )

        @callback
        def stop() -> None:
            unsub_tick()
            for detector_id in self.states:
                ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(detector_id))

        return stop

    @callback
    def report(self, detector_id: str, error: str | None) -> None:
        """Record the outcome of a real call (or of a check)."""
        state = self.states.get(detector_id)
        if state is None:
            return
        now = dt_util.utcnow()
        state.last_activity = now
        handle = self._detectors[detector_id]
        if error is None:
            if state.available is False:
                _LOGGER.info("Detector %s is answering again", handle.name)
                ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(detector_id))
            changed = state.available is not True
            state.available, state.error, state.failing_since = True, None, None
            state.failures, state.next_check = 0, None
        else:
            if self._on_error is not None:
                self._on_error(handle.name, error)
            if state.available is not False:
                _LOGGER.info("Detector %s is unavailable: %s", handle.name, error)
                state.failing_since = now
            changed = state.available is not False or state.error != error
            state.available, state.error = False, error
            if state.next_check is None:
                state.next_check = now + FIRST_RETRY
        if changed:
            async_dispatcher_send(self.hass, self.signal, detector_id)

    @callback
    def _tick(self, now: datetime) -> None:
        for detector_id, state in self.states.items():
            if state.checking:
                continue
            due = state.next_check is not None and now >= state.next_check
            idle = (
                state.available is True
                and state.last_activity is not None
                and now - state.last_activity >= IDLE_CHECK
            )
            if due or idle:
                state.checking = True
                self.entry.async_create_background_task(
                    self.hass,
                    self._async_check(detector_id),
                    f"double_take check {detector_id}",
                )
            if (
                state.available is False
                and state.failing_since is not None
                and now - state.failing_since >= REPAIR_AFTER
            ):
                self._raise_issue(detector_id, state)

    async def _async_check(self, detector_id: str) -> None:
        state = self.states[detector_id]
        try:
            await self._detectors[detector_id].detector.check()
        except ApiError as err:
            state.failures += 1
            delay = min(MAX_RETRY, FIRST_RETRY * 2 ** (state.failures - 1))
            state.next_check = dt_util.utcnow() + delay
            self.report(detector_id, str(err) or type(err).__name__)
        else:
            self.report(detector_id, None)
        finally:
            state.checking = False

    @callback
    def _raise_issue(self, detector_id: str, state: DetectorHealth) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(detector_id),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_UNREACHABLE,
            translation_placeholders={
                "detector": self._detectors[detector_id].name,
                "error": state.error or "",
            },
        )

    @staticmethod
    def _issue_id(detector_id: str) -> str:
        return f"{ISSUE_UNREACHABLE}_{detector_id}"
