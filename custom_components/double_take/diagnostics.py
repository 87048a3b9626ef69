"""Diagnostics of a Double Take entry, with every secret redacted."""

from __future__ import annotations

import re
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import (
    CONF_API_KEY,
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_TYPE,
    CONF_URL,
    SUBENTRY_DETECTOR,
)
from .data import DoubleTakeConfigEntry
from .health import DetectorHealth

TO_REDACT = {CONF_API_KEY, CONF_FRIGATE_PASSWORD, CONF_FRIGATE_USERNAME}
REDACTED = "**REDACTED**"
# user:password@ in a URL (Facebox takes its Basic auth credentials that way).
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]*@")


def redact_credentials(text: str) -> str:
    """Replace the credentials of every URL in ``text``."""
    return _URL_CREDENTIALS.sub(f"{REDACTED}@", text)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: DoubleTakeConfigEntry
) -> dict[str, Any]:
    """Config, options, detectors, Frigate, stored image counts, recent results, health."""
    data = entry.runtime_data
    stored = await hass.async_add_executor_job(data.media.count_images)
    trained = data.index.trained_counts()
    frigate = data.frigate.config if data.frigate else None
    return {
        "entry": {
            "title": redact_credentials(entry.title),
            "data": _redact(dict(entry.data)),
            "options": dict(entry.options),
        },
        "frigate": None
        if frigate is None
        else {
            "topic_prefix": frigate.topic_prefix,
            "cameras": {
                camera: list(zones) for camera, zones in frigate.cameras.items()
            },
        },
        "detectors": [
            {
                "id": subentry.subentry_id,
                "title": redact_credentials(subentry.title),
                "type": subentry.data.get(CONF_TYPE),
                "data": _redact(dict(subentry.data)),
                # None for a detector added since setup (the entry reloads soon).
                "health": _health(state)
                if (state := data.health.states.get(subentry.subentry_id))
                else None,
                "trained_images": trained.get(subentry.subentry_id, 0),
            }
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_DETECTOR
        ],
        "persons": len(data.persons.names),
        "stored_images": stored,
        "disabled_cameras": data.intake.disabled_cameras if data.intake else [],
        "recent_results": [
            result.as_dict() for result in data.publisher.recent_results
        ],
    }


def _redact(data: dict[str, Any]) -> dict[str, Any]:
    """Redact keys and passwords; URLs keep their host but lose their credentials."""
    for key in (CONF_URL, CONF_FRIGATE_URL):
        if isinstance(data.get(key), str):
            data[key] = redact_credentials(data[key])
    return async_redact_data(data, TO_REDACT)


def _health(state: DetectorHealth) -> dict[str, Any]:
    """Return what the health monitor knows about one detector."""
    return {
        "available": state.available,
        "error": redact_credentials(state.error) if state.error else None,
        "failing_since": state.failing_since.isoformat()
        if state.failing_since
        else None,
        "last_activity": state.last_activity.isoformat()
        if state.last_activity
        else None,
        "failures": state.failures,
    }
