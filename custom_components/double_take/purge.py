"""Purge of old match and unknown images (SPEC §7): every hour and once at start.

Only ``matches/`` and ``unknown/`` are purged, never ``train/``; an age of 0 keeps the
images of that folder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
import sqlite3

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .data import DoubleTakeConfigEntry
from .history import HistoryStore
from .options import Settings
from .storage import HISTORY, MATCHES, UNKNOWN_FOLDER, MediaStore

_LOGGER = logging.getLogger(__name__)

PURGE_INTERVAL = timedelta(hours=1)


async def async_purge(
    hass: HomeAssistant, media: MediaStore, history: HistoryStore, settings: Settings
) -> dict[str, int]:
    """Delete match and unknown images, and history rows, older than the purge options.

    Recorded matches follow ``purge_matches_hours``, misses and unknown faces
    ``purge_unknown_hours``. Returns the number of deleted files per folder and of
    deleted history files.
    """
    now = dt_util.utcnow().timestamp()
    counts: dict[str, int] = {}
    for folder, hours in (
        (MATCHES, settings.purge_matches_hours),
        (UNKNOWN_FOLDER, settings.purge_unknown_hours),
    ):
        counts[folder] = (
            await hass.async_add_executor_job(media.purge, folder, now - hours * 3600)
            if hours > 0
            else 0
        )
    history_files: list[str] = []
    for kinds, hours in (
        (["match"], settings.purge_matches_hours),
        (["miss", "unknown"], settings.purge_unknown_hours),
    ):
        if hours > 0:
            history_files += await hass.async_add_executor_job(
                history.purge, kinds, now - hours * 3600
            )
    await hass.async_add_executor_job(media.delete_files, history_files)
    counts[HISTORY] = len(history_files)
    if any(counts.values()):
        _LOGGER.debug(
            "Purged %d match and %d unknown images",
            counts[MATCHES],
            counts[UNKNOWN_FOLDER],
        )
    return counts


@callback
def async_setup_purge(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> CALLBACK_TYPE:
    """Purge now (in the background) and every hour; returns the cancel callback."""
    data = entry.runtime_data

    async def _async_run(now: datetime | None = None) -> None:
        try:
            await async_purge(hass, data.media, data.history, data.settings.current)
        except (OSError, sqlite3.Error) as err:
            _LOGGER.warning("Purging old images failed: %s", err)

    entry.async_create_background_task(hass, _async_run(), "double_take purge")
    return async_track_time_interval(
        hass,
        _async_run,
        PURGE_INTERVAL,
        name="double_take purge",
        cancel_on_shutdown=True,
    )
