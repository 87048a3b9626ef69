"""Helpers to build and set up Double Take config entries in tests."""

from __future__ import annotations

from typing import Any

from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.double_take.const import (
    CONF_API_KEY,
    CONF_CAMERAS,
    CONF_DET_PROB_THRESHOLD,
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TIMEOUT,
    CONF_TYPE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DOMAIN,
    SUBENTRY_DETECTOR,
)
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant


def detector_subentry(
    kind: str,
    url: str,
    *,
    api_key: str = "",
    cameras: list[str] | None = None,
    timeout: float = 5,
    title: str | None = None,
) -> ConfigSubentryData:
    """Subentry data of one detector."""
    return ConfigSubentryData(
        data={
            CONF_TYPE: kind,
            CONF_URL: url,
            CONF_API_KEY: api_key,
            CONF_TIMEOUT: timeout,
            CONF_DET_PROB_THRESHOLD: 0.8,
            CONF_CAMERAS: cameras or [],
        },
        subentry_type=SUBENTRY_DETECTOR,
        title=title or f"{kind} ({url})",
        unique_id=f"{kind}:{url}",
    )


def make_entry(
    *,
    frigate_url: str = "",
    username: str = "",
    password: str = "",
    detectors: list[ConfigSubentryData] | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Build a Double Take entry (not yet added to hass)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Double Take",
        data={
            CONF_FRIGATE_URL: frigate_url,
            CONF_FRIGATE_USERNAME: username,
            CONF_FRIGATE_PASSWORD: password,
            CONF_VERIFY_SSL: True,
        },
        options=options or {},
        subentries_data=detectors or [],
        unique_id=frigate_url or "no_frigate",
    )


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add ``entry`` to hass and set it up."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    # Includes the background discovery of the detectors' persons.
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry
