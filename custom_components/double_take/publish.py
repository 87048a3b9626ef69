"""Side effects of a finished result: bus events and MQTT messages (SPEC §6.3, §6.4)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant

from .const import EVENT_MATCH, EVENT_RESULT, EVENT_UNKNOWN
from .options import Settings
from .result import FaceHit, RecognitionResult

_NOT_SLUG = re.compile(r"[^a-z0-9-]")
_SPACES = re.compile(r"\s+")
_NOT_IN_TOPIC_LEVEL = re.compile(r"[+#/\x00]")


def slug(name: str) -> str:
    """Topic slug of Double Take: lower case, whitespace → ``-``, other characters dropped."""
    return _NOT_SLUG.sub("", _SPACES.sub("-", name.lower()))


def face_event_data(result: RecognitionResult, hit: FaceHit) -> dict[str, Any]:
    """Build the data of a ``double_take_match`` / ``double_take_unknown`` event."""
    return {
        "name": hit.name,
        "confidence": hit.face.confidence,
        "camera": result.camera,
        "room": result.room,
        "detector": hit.detector,
        "type": hit.type,
        "event_id": result.id,
        "zones": list(result.zones),
        "box": hit.face.box.as_dict(),
        "image": hit.image_path,
    }


def fire_events(hass: HomeAssistant, result: RecognitionResult) -> None:
    """One event per matched name, one for unknown faces, one with the whole result."""
    for hit in result.matches:
        hass.bus.async_fire(EVENT_MATCH, face_event_data(result, hit))
    if result.unknowns:
        data = face_event_data(result, result.unknowns[0])
        data["count"] = len(result.unknowns)
        hass.bus.async_fire(EVENT_UNKNOWN, data)
    hass.bus.async_fire(EVENT_RESULT, result.as_dict())


def mqtt_messages(
    settings: Settings, result: RecognitionResult
) -> list[tuple[str, str]]:
    """List the (topic, payload) pairs the original Double Take published for a result."""
    messages: list[tuple[str, str]] = []
    base = result.base_dict()
    for hit in result.matches:
        topic_name = slug(hit.name)
        if topic_name:
            payload = {**base, "match": hit.as_dict()}
            messages.append(
                (f"{settings.mqtt_topic_matches}/{topic_name}", _dump(payload))
            )
    if result.unknowns:
        unknowns = [hit.as_dict() for hit in result.unknowns]
        payload = {**base, "unknown": unknowns[0], "unknowns": unknowns}
        messages.append((f"{settings.mqtt_topic_matches}/unknown", _dump(payload)))
    if result.matches or result.misses or result.unknowns:
        # Camera names keep their underscores, lower-cased as the original did (J#163).
        camera = _NOT_IN_TOPIC_LEVEL.sub("", result.camera.lower()) or "unknown"
        messages.append(
            (f"{settings.mqtt_topic_cameras}/{camera}", _dump(result.as_dict()))
        )
    return messages


async def publish_mqtt(
    hass: HomeAssistant, settings: Settings, result: RecognitionResult
) -> None:
    """Publish the result topics, not retained (a replay once unlocked a door: F#281)."""
    for topic, payload in mqtt_messages(settings, result):
        await mqtt.async_publish(hass, topic, payload, qos=0, retain=False)


def _dump(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()
