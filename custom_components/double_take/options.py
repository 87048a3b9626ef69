"""Typed view of the entry options, built once per change instead of read per event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .const import (
    DEFAULT_OPTIONS,
    OPT_ATTEMPT_DELAY,
    OPT_CAMERA_RESET,
    OPT_CAMERAS,
    OPT_CONFIDENCE,
    OPT_FRIGATE_JITTER,
    OPT_IMAGE_HEIGHT,
    OPT_LABELS,
    OPT_LATEST_ATTEMPTS,
    OPT_MIN_FACE_AREA,
    OPT_MIN_OBJECT_AREA,
    OPT_MQTT_PUBLISH,
    OPT_MQTT_TOPIC_CAMERAS,
    OPT_MQTT_TOPIC_MATCHES,
    OPT_PRESENCE_TIMEOUT,
    OPT_PROCESSING,
    OPT_PURGE_MATCHES_HOURS,
    OPT_PURGE_UNKNOWN_HOURS,
    OPT_SAVE_UNKNOWN,
    OPT_SNAPSHOT_ATTEMPTS,
    OPT_STOP_ON_MATCH,
    OPT_UNKNOWN_CONFIDENCE,
    OPT_UPDATE_SUB_LABEL,
    OPT_ZONES,
    PROCESSING_PARALLEL,
)
from .events import EventFilter
from .pipeline import RunSettings
from .result import MatchRules


@dataclass(frozen=True, slots=True)
class Settings:
    """All options of SPEC §3.3, with defaults filled in."""

    rules: MatchRules
    event_filter: EventFilter
    snapshot_attempts: int
    latest_attempts: int
    run: RunSettings
    frigate_jitter: float
    image_height: int
    save_unknown: bool
    purge_matches_hours: float
    purge_unknown_hours: float
    update_sub_label: bool
    mqtt_publish: bool
    mqtt_topic_matches: str
    mqtt_topic_cameras: str
    presence_timeout: float
    camera_reset: float

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        """Merge ``options`` over the defaults."""
        merged = {**DEFAULT_OPTIONS, **options}
        return cls(
            rules=MatchRules(
                confidence=float(merged[OPT_CONFIDENCE]),
                unknown_confidence=float(merged[OPT_UNKNOWN_CONFIDENCE]),
                min_face_area=int(merged[OPT_MIN_FACE_AREA]),
            ),
            event_filter=EventFilter.create(
                labels=merged[OPT_LABELS],
                cameras=merged[OPT_CAMERAS],
                zones=merged[OPT_ZONES],
                min_object_area=float(merged[OPT_MIN_OBJECT_AREA]),
            ),
            snapshot_attempts=int(merged[OPT_SNAPSHOT_ATTEMPTS]),
            latest_attempts=int(merged[OPT_LATEST_ATTEMPTS]),
            run=RunSettings(
                delay=float(merged[OPT_ATTEMPT_DELAY]),
                stop_on_match=bool(merged[OPT_STOP_ON_MATCH]),
                parallel=merged[OPT_PROCESSING] == PROCESSING_PARALLEL,
            ),
            frigate_jitter=float(merged[OPT_FRIGATE_JITTER]),
            image_height=int(merged[OPT_IMAGE_HEIGHT]),
            save_unknown=bool(merged[OPT_SAVE_UNKNOWN]),
            purge_matches_hours=float(merged[OPT_PURGE_MATCHES_HOURS]),
            purge_unknown_hours=float(merged[OPT_PURGE_UNKNOWN_HOURS]),
            update_sub_label=bool(merged[OPT_UPDATE_SUB_LABEL]),
            mqtt_publish=bool(merged[OPT_MQTT_PUBLISH]),
            mqtt_topic_matches=str(merged[OPT_MQTT_TOPIC_MATCHES]).rstrip("/"),
            mqtt_topic_cameras=str(merged[OPT_MQTT_TOPIC_CAMERAS]).rstrip("/"),
            presence_timeout=float(merged[OPT_PRESENCE_TIMEOUT]),
            camera_reset=float(merged[OPT_CAMERA_RESET]),
        )
