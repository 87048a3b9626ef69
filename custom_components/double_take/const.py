"""Constants of the Double Take integration: keys, defaults and names users rely on."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "double_take"

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

# Camera sources: a camera entity whose snapshots are recognised when a trigger fires.
SUBENTRY_CAMERA: Final = "camera"
CONF_CAMERA_ENTITY: Final = "camera_entity"
CONF_TRIGGER: Final = "trigger"
CONF_ATTEMPTS: Final = "attempts"
CONF_DELAY: Final = "delay"
CONF_ROOM: Final = "room"
CONF_DETECTORS: Final = "detectors"

# Where a result came from (history ``source``, saved with every face).
SOURCE_FRIGATE: Final = "frigate"
SOURCE_CAMERA: Final = "camera"
SOURCE_MANUAL: Final = "manual"

# Requests in flight to one detector server at once.
DEFAULT_DETECTOR_CONCURRENCY: Final = 4
LOCAL_STORAGE_DIR: Final = "local"

# Options (SPEC §3.3); their defaults and forms are in options.py.
OPT_CONFIDENCE: Final = "confidence"
OPT_UNKNOWN_CONFIDENCE: Final = "unknown_confidence"
OPT_MIN_FACE_AREA: Final = "min_face_area"
OPT_MIN_MARGIN: Final = "min_margin"
OPT_MIN_DETECTORS_AGREE: Final = "min_detectors_agree"
OPT_UNKNOWN_MIN_FACE_AREA: Final = "unknown_min_face_area"
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
OPT_MQTT_SNAPSHOTS: Final = "mqtt_snapshots"
OPT_CROP: Final = "crop"
OPT_REQUIRE_FACE: Final = "require_face"
# Per-camera values of some options: {camera: {option: value}} (options.py).
OPT_CAMERA_OVERRIDES: Final = "camera_overrides"

# What a Frigate image is cut to before the detectors see it (option ``crop``).
CROP_NONE: Final = "none"
CROP_PERSON: Final = "person"
CROP_FACE: Final = "face"
# Whether a Frigate event waits for Frigate to see a face (option ``require_face``).
REQUIRE_FACE_AUTO: Final = "auto"
REQUIRE_FACE_ON: Final = "on"
REQUIRE_FACE_OFF: Final = "off"

PROCESSING_PARALLEL: Final = "parallel"
PROCESSING_SERIAL: Final = "serial"

DEFAULT_TOPIC_PREFIX: Final = "frigate"
MANUAL_CAMERA: Final = "double-take"

# Bus events (SPEC §6.3).
EVENT_MATCH: Final = "double_take_match"
EVENT_UNKNOWN: Final = "double_take_unknown"
EVENT_RESULT: Final = "double_take_result"

# Storage (SPEC §7).
STORAGE_DIR: Final = "double_take"
