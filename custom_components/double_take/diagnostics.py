"""Diagnostics of a Double Take entry, with every secret redacted."""

from __future__ import annotations

from dataclasses import asdict
import re
from typing import Any

from yarl import URL

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
from .options import normalized

TO_REDACT = {CONF_API_KEY, CONF_FRIGATE_PASSWORD, CONF_FRIGATE_USERNAME}
REDACTED = "**REDACTED**"
# What may be a URL in a text (a title, an error): a scheme, ://, then up to a space.
# Whether it holds credentials is up to yarl (``redact_url``); a token yarl cannot
# parse (``http://u:p@host:8080)``, the parenthesis of a title) loses what precedes
# its last ``@``.
_URL_CANDIDATE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


def redact_url(url: str) -> str:
    """Return ``url`` with ``**REDACTED**`` for its ``user:password@``, if it has one.

    Parsed with yarl, which takes the authority up to the first ``/``, ``?`` or ``#``
    and the credentials up to its last ``@``: a password holding ``@`` or ``:`` (Facebox
    takes Basic auth as ``http://user:pass@host``) is redacted whole. A URL yarl cannot
    parse loses everything between ``://`` and its last ``@``.
    """
    try:
        parsed = URL(url)
    except ValueError:
        scheme, sep, rest = url.partition("://")
        if sep and "@" in rest:
            return f"{scheme}://{REDACTED}@{rest.rpartition('@')[2]}"
        return url
    if parsed.user is None and parsed.password is None:
        return url
    return str(parsed.with_user(None)).replace("://", f"://{REDACTED}@", 1)


def redact_credentials(text: str) -> str:
    """Redact the credentials of every URL in ``text`` (``redact_url``)."""
    return _URL_CANDIDATE.sub(lambda match: redact_url(match.group()), text)


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
            # As Settings reads them: counts as ints (number selectors answer floats).
            "options": normalized(entry.options),
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
        "camera_sources": [
            {**asdict(source), "detectors": sorted(source.detectors)}
            for source in data.camera_sources.sources
        ],
        # A burst shows here: messages held for later iterations, events waiting a run.
        "frigate_events": data.intake.load() if data.intake else None,
        "mqtt_snapshots_subscribed": bool(data.snapshots and data.snapshots.subscribed),
        "persons": len(data.persons.names),
        "stored_images": stored,
        "disabled_cameras": data.camera_switches.disabled,
        "recent_results": [
            result.as_dict() for result in data.publisher.recent_results
        ],
    }


def _redact(data: dict[str, Any]) -> dict[str, Any]:
    """Redact keys and passwords; URLs keep their host but lose their credentials."""
    for key in (CONF_URL, CONF_FRIGATE_URL):
        if isinstance(data.get(key), str):
            data[key] = redact_url(data[key])
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
