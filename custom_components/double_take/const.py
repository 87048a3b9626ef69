"""Constants of the Double Take integration: keys, defaults and names users rely on."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "double_take"
LOGGER = logging.getLogger(__package__)

# Config entry data (SPEC §3.1).
CONF_FRIGATE_URL: Final = "frigate_url"
CONF_FRIGATE_USERNAME: Final = "frigate_username"
CONF_FRIGATE_PASSWORD: Final = "frigate_password"
CONF_VERIFY_SSL: Final = "verify_ssl"

# Detector subentries (SPEC §3.2).
SUBENTRY_DETECTOR: Final = "detector"
CONF_TYPE: Final = "type"
CONF_URL: Final = "url"
CONF_API_KEY: Final = "api_key"
CONF_TIMEOUT: Final = "timeout"
CONF_DET_PROB_THRESHOLD: Final = "det_prob_threshold"
CONF_CAMERAS: Final = "cameras"
CONF_CONCURRENCY: Final = "concurrency"
# Local detector (SPEC §5.5).
CONF_UPSAMPLE: Final = "upsample"
CONF_MAX_HEIGHT: Final = "max_height"
CONF_DISTANCE_THRESHOLD: Final = "distance_threshold"

DETECTOR_COMPREFACE: Final = "compreface"
DETECTOR_DEEPSTACK: Final = "deepstack"
DETECTOR_CODEPROJECT: Final = "codeproject"
DETECTOR_FACEBOX: Final = "facebox"
REMOTE_DETECTOR_TYPES: Final = (
    DETECTOR_COMPREFACE,
    DETECTOR_DEEPSTACK,
    DETECTOR_CODEPROJECT,
    DETECTOR_FACEBOX,
)
DETECTOR_LOCAL: Final = "local"
DETECTOR_TYPES: Final = (DETECTOR_LOCAL, *REMOTE_DETECTOR_TYPES)
DETECTOR_TITLES: Final = {
    DETECTOR_COMPREFACE: "CompreFace",
    DETECTOR_DEEPSTACK: "DeepStack",
    DETECTOR_CODEPROJECT: "CodeProject.AI",
    DETECTOR_FACEBOX: "Facebox",
    DETECTOR_LOCAL: "Local (dlib)",
}
DEFAULT_DETECTOR_TIMEOUT: Final = 15
# Requests in flight to one detector server at once.
DEFAULT_DETECTOR_CONCURRENCY: Final = 4
DEFAULT_DET_PROB_THRESHOLD: Final = 0.8
DEFAULT_UPSAMPLE: Final = 1
DEFAULT_MAX_HEIGHT: Final = 720
DEFAULT_DISTANCE_THRESHOLD: Final = 0.6
LOCAL_STORAGE_DIR: Final = "local"

# Options (SPEC §3.3) and their defaults.
OPT_CONFIDENCE: Final = "confidence"
OPT_UNKNOWN_CONFIDENCE: Final = "unknown_confidence"
OPT_MIN_FACE_AREA: Final = "min_face_area"
OPT_LABELS: Final = "labels"
OPT_CAMERAS: Final = "cameras"
OPT_ZONES: Final = "zones"
OPT_MIN_OBJECT_AREA: Final = "min_object_area"
OPT_SNAPSHOT_ATTEMPTS: Final = "snapshot_attempts"
OPT_LATEST_ATTEMPTS: Final = "latest_attempts"
OPT_ATTEMPT_DELAY: Final = "attempt_delay"
OPT_FRIGATE_JITTER: Final = "frigate_jitter"
OPT_IMAGE_HEIGHT: Final = "image_height"
OPT_STOP_ON_MATCH: Final = "stop_on_match"
OPT_PROCESSING: Final = "processing"
OPT_SAVE_UNKNOWN: Final = "save_unknown"
OPT_PURGE_MATCHES_HOURS: Final = "purge_matches_hours"
OPT_PURGE_UNKNOWN_HOURS: Final = "purge_unknown_hours"
OPT_UPDATE_SUB_LABEL: Final = "update_sub_label"
OPT_MQTT_PUBLISH: Final = "mqtt_publish"
OPT_MQTT_TOPIC_MATCHES: Final = "mqtt_topic_matches"
OPT_MQTT_TOPIC_CAMERAS: Final = "mqtt_topic_cameras"
OPT_PRESENCE_TIMEOUT: Final = "presence_timeout"
OPT_CAMERA_RESET: Final = "camera_reset"

PROCESSING_PARALLEL: Final = "parallel"
PROCESSING_SERIAL: Final = "serial"

DEFAULT_OPTIONS: Final[dict[str, object]] = {
    OPT_CONFIDENCE: 50,
    OPT_UNKNOWN_CONFIDENCE: 40,
    OPT_MIN_FACE_AREA: 10000,
    OPT_LABELS: ["person"],
    OPT_CAMERAS: [],
    OPT_ZONES: [],
    OPT_MIN_OBJECT_AREA: 0,
    OPT_SNAPSHOT_ATTEMPTS: 10,
    OPT_LATEST_ATTEMPTS: 10,
    OPT_ATTEMPT_DELAY: 0.5,
    OPT_FRIGATE_JITTER: 0,
    OPT_IMAGE_HEIGHT: 800,
    OPT_STOP_ON_MATCH: True,
    OPT_PROCESSING: PROCESSING_PARALLEL,
    OPT_SAVE_UNKNOWN: False,
    OPT_PURGE_MATCHES_HOURS: 48,
    OPT_PURGE_UNKNOWN_HOURS: 48,
    OPT_UPDATE_SUB_LABEL: False,
    OPT_MQTT_PUBLISH: True,
    OPT_MQTT_TOPIC_MATCHES: "double-take/matches",
    OPT_MQTT_TOPIC_CAMERAS: "double-take/cameras",
    OPT_PRESENCE_TIMEOUT: 600,
    OPT_CAMERA_RESET: 30,
}

DEFAULT_TOPIC_PREFIX: Final = "frigate"
MANUAL_CAMERA: Final = "double-take"

# Bus events (SPEC §6.3).
EVENT_MATCH: Final = "double_take_match"
EVENT_UNKNOWN: Final = "double_take_unknown"
EVENT_RESULT: Final = "double_take_result"

# Storage (SPEC §7).
STORAGE_DIR: Final = "double_take"
