"""Purge of old match and unknown images (SPEC §7): every hour and once at start.

Only ``matches/`` and ``unknown/`` are purged, never ``train/``; an age of 0 keeps the
images of that folder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import logging

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .coordinator import DoubleTakeCoordinator
from .data import DoubleTakeConfigEntry
from .storage import MATCHES, UNKNOWN

_LOGGER = logging.getLogger(__name__)

PURGE_INTERVAL = timedelta(hours=1)


async def async_purge(
    hass: HomeAssistant, coordinator: DoubleTakeCoordinator
) -> dict[str, int]:
    """Delete match and unknown images older than the entry's purge options.

    Returns the number of deleted files per folder.
    """
    settings = coordinator.settings
    now = dt_util.utcnow().timestamp()
    counts: dict[str, int] = {}
    for folder, hours in (
        (MATCHES, settings.purge_matches_hours),
        (UNKNOWN, settings.purge_unknown_hours),
    ):
        counts[folder] = (
            await hass.async_add_executor_job(
                coordinator.store.purge, folder, now - hours * 3600
            )
            if hours > 0
            else 0
        )
    if any(counts.values()):
        _LOGGER.debug(
            "Purged %d match and %d unknown images",
            counts[MATCHES],
            counts[UNKNOWN],
        )
    return counts


@callback
def async_setup_purge(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> CALLBACK_TYPE:
    """Purge now (in the background) and every hour; returns the cancel callback."""
    coordinator = entry.runtime_data.coordinator

    async def _async_run(now: datetime | None = None) -> None:
        try:
            await async_purge(hass, coordinator)
        except OSError as err:
            _LOGGER.warning("Purging old images failed: %s", err)

    entry.async_create_background_task(hass, _async_run(), "double_take purge")
    return async_track_time_interval(
        hass,
        _async_run,
        PURGE_INTERVAL,
        name="double_take purge",
        cancel_on_shutdown=True,
    )
