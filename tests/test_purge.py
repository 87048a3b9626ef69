"""Purge of old match and unknown images (SPEC §7): at start, every hour and on demand."""

from __future__ import annotations

from datetime import timedelta
import logging
import os
from pathlib import Path
import time
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.double_take.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .common import make_entry, setup_entry

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100
HOUR = 3600


def image(hass: HomeAssistant, relative: str, age_hours: float) -> Path:
    """Write an image under double_take/ with a modification time ``age_hours`` ago."""
    path = Path(hass.config.path("double_take", relative))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(JPEG)
    mtime = time.time() - age_hours * HOUR
    os.utime(path, (mtime, mtime))
    return path


async def test_purge_at_start(hass: HomeAssistant, tmp_path: Path) -> None:
    """At start, images older than 48 h go from matches/ and unknown/; train/ stays."""
    old_match = image(hass, "matches/alice/old.jpg", 49)
    new_match = image(hass, "matches/alice/new.jpg", 47)
    lone = image(hass, "matches/bob/old.jpg", 100)
    old_unknown = image(hass, "unknown/old.jpg", 49)
    new_unknown = image(hass, "unknown/new.jpg", 1)
    train = image(hass, "train/alice/ancient.jpg", 10_000)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(JPEG)
    os.utime(outside, (0, 0))
    (old_match.parent / "link.jpg").symlink_to(outside)
    (old_match.parent.parent / "linked_dir").symlink_to(tmp_path)

    await setup_entry(hass, make_entry())

    assert not old_match.exists()
    assert not old_unknown.exists()
    assert not lone.parent.exists()  # emptied person folder removed
    assert new_match.exists()
    assert new_unknown.exists()
    assert train.exists()
    assert outside.exists()
    assert (old_match.parent / "link.jpg").is_symlink()


async def test_purge_every_hour_until_unload(hass: HomeAssistant) -> None:
    """The hourly run purges what got old since; unloading stops it."""
    entry = await setup_entry(
        hass, make_entry(options={"purge_matches_hours": 2, "purge_unknown_hours": 2})
    )
    first = image(hass, "matches/alice/a.jpg", 3)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=59))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert first.exists()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not first.exists()

    assert await hass.config_entries.async_unload(entry.entry_id)
    second = image(hass, "unknown/b.jpg", 3)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=3))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert second.exists()


async def test_purge_action_returns_counts(hass: HomeAssistant) -> None:
    """double_take.purge runs now with the entry's options; 0 hours keeps a folder."""
    await setup_entry(
        hass, make_entry(options={"purge_matches_hours": 1, "purge_unknown_hours": 0})
    )
    image(hass, "matches/alice/a.jpg", 2)
    image(hass, "matches/bob/b.jpg", 2)
    image(hass, "matches/bob/c.jpg", 0.5)
    kept = image(hass, "unknown/u.jpg", 10_000)
    train = image(hass, "train/alice/t.jpg", 10_000)

    response = await hass.services.async_call(
        DOMAIN, "purge", {}, blocking=True, return_response=True
    )

    assert response == {"matches": 2, "unknown": 0, "history": 0}
    assert kept.exists()
    assert train.exists()
    assert Path(hass.config.path("double_take", "matches", "bob", "c.jpg")).exists()


async def test_purge_failure_is_logged(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """A file-system error in the scheduled purge is a warning, not a crash."""
    with (
        patch(
            "custom_components.double_take.storage.MediaStore.purge",
            side_effect=PermissionError("read-only file system"),
        ),
        caplog.at_level(logging.WARNING),
    ):
        await setup_entry(hass, make_entry())
    assert "Purging old images failed: read-only file system" in caplog.text
