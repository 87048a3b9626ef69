"""Helpers to build and set up Double Take config entries in tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import (
    CONF_API_KEY,
    CONF_CAMERAS,
    CONF_DET_PROB_THRESHOLD,
    CONF_DISTANCE_THRESHOLD,
    CONF_FRIGATE_PASSWORD,
    CONF_FRIGATE_URL,
    CONF_FRIGATE_USERNAME,
    CONF_MAX_HEIGHT,
    CONF_TIMEOUT,
    CONF_TYPE,
    CONF_UPSAMPLE,
    CONF_URL,
    CONF_VERIFY_SSL,
    DOMAIN,
    SUBENTRY_DETECTOR,
)
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant

from .emulators.base import EmulatorServer
from .emulators.compreface import CompreFaceEmulator
from .emulators.fixtures import EMULATORS
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec

# Real face photos (from ../shared/data/faces), for the local detector and evaluations.
FACES = Path(__file__).parent / "fixtures" / "faces"


def photo(name: str) -> bytes:
    """Bytes of a fixture photo."""
    return (FACES / f"{name}.jpg").read_bytes()


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


def local_subentry(**data: Any) -> ConfigSubentryData:
    """Subentry of a local detector with the default settings (``data`` overrides)."""
    return ConfigSubentryData(
        data={
            CONF_TYPE: "local",
            CONF_UPSAMPLE: 1,
            CONF_MAX_HEIGHT: 720,
            CONF_DISTANCE_THRESHOLD: 0.6,
            CONF_CAMERAS: [],
            **data,
        },
        subentry_type=SUBENTRY_DETECTOR,
        title="Local (dlib)",
        unique_id="local",
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


def emulator_subentry(server: EmulatorServer, **subentry: Any) -> ConfigSubentryData:
    """Subentry data of the detector ``server`` emulates (CompreFace with its key)."""
    kind = next(kind for kind, cls in EMULATORS.items() if type(server) is cls)
    if isinstance(server, CompreFaceEmulator):
        subentry.setdefault("api_key", server.api_key)
    return detector_subentry(kind, server.url, **subentry)


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add ``entry`` to hass and set it up."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    # Includes the background discovery of the detectors' persons.
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


async def setup_detectors(
    hass: HomeAssistant, *servers: EmulatorServer, **entry: Any
) -> MockConfigEntry:
    """Set up an entry whose detectors are the emulators ``servers``, in this order.

    ``entry`` goes to ``make_entry`` (``frigate_url=``, ``options=`` …).
    """
    detectors = [emulator_subentry(server) for server in servers]
    return await setup_entry(hass, make_entry(detectors=detectors, **entry))


EVENT_ID = "1760011207.412398-k3w9qz"
ALICE = FaceSpec("alice", (200, 100, 150, 180))
BOB = FaceSpec("bob", (420, 90, 140, 170), similarity=0.88)
FAST = {"attempt_delay": 0.01, "snapshot_attempts": 3, "latest_attempts": 3}


def event_message(
    kind: str = "new",
    event_id: str = EVENT_ID,
    camera: str = "front_door",
    **after: Any,
) -> str:
    """Build a Frigate ``events`` message as Frigate 0.16 publishes it (trimmed)."""
    state = {
        "id": event_id,
        "camera": camera,
        "frame_time": 1760011212.905113,
        "label": "person",
        "sub_label": None,
        "top_score": 0.87,
        "false_positive": False,
        "start_time": 1760011207.412398,
        "end_time": None,
        "score": 0.88,
        "box": [612, 188, 742, 571],
        "area": 49790,
        "current_zones": ["porch"],
        "entered_zones": ["porch"],
        "has_clip": True,
        "has_snapshot": True,
        **after,
    }
    return json.dumps({"type": kind, "before": state, "after": state})


async def fire(
    hass: HomeAssistant, *messages: str | bytes, topic: str = "frigate/events"
) -> None:
    """Publish messages on Frigate's events topic and wait for every run to finish."""
    for message in messages:
        async_fire_mqtt_message(hass, topic, message)
    await hass.async_block_till_done(wait_background_tasks=True)


STATUS_TOPICS = ("double-take/available", "double-take/errors")


def is_person_count_topic(topic: str) -> bool:
    """``double-take/cameras/<camera>/person``: a camera's person count (retained)."""
    return topic.startswith("double-take/cameras/") and topic.count("/") == 3


def published(mqtt: MqttMockHAClient) -> dict[str, list[dict[str, Any]]]:
    """Return the result payloads published by the integration, by topic.

    The status topics and the person counts (``test_mqtt_contract``) are left out.
    """
    messages: dict[str, list[dict[str, Any]]] = {}
    for call in mqtt.async_publish.call_args_list:
        topic, payload, qos, retain = call.args[:4]
        if topic in STATUS_TOPICS or is_person_count_topic(topic):
            continue
        if topic.startswith("double-take/"):
            assert (qos, retain) == (0, False)
            messages.setdefault(topic, []).append(json.loads(payload))
    return messages


async def setup_frigate_entry(
    hass: HomeAssistant,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    *,
    known: tuple[str, ...] = ("alice", "bob"),
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Set up an entry on the Frigate emulator whose CompreFace knows ``known``."""
    compreface.subjects.update({name: [name] for name in known})
    return await setup_detectors(
        hass,
        compreface,
        frigate_url=frigate.url,
        options=FAST if options is None else options,
    )
