"""The rest of the original's MQTT contract: available, errors, person counts, fields.

Issue 16 item 3: ``double-take/available`` (retained ``online`` / ``offline``),
``double-take/errors`` (one message per failing source and minute),
``double-take/cameras/<camera>/person`` (retained count, 0 after ``camera_reset``), and
the original's ``timestamp``, ``match.filename`` and ``personCount`` beside our fields.
"""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import PurePosixPath
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import EVENT_MATCH
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .common import (
    ALICE,
    BOB,
    EVENT_ID,
    FAST,
    event_message,
    fire,
    published,
    setup_frigate_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

OPTIONS = {**FAST, "camera_reset": 30}
AVAILABLE = "double-take/available"
ERRORS = "double-take/errors"
FRONT_DOOR_PERSON = "double-take/cameras/front_door/person"


def sent(mqtt: MqttMockHAClient, topic: str) -> list[tuple[str, int, bool]]:
    """(payload, qos, retain) of every message published on ``topic``, in order."""
    return [
        (call.args[1], call.args[2], call.args[3])
        for call in mqtt.async_publish.call_args_list
        if call.args[0] == topic
    ]


def errors(mqtt: MqttMockHAClient) -> list[dict[str, Any]]:
    """Return the ``errors`` payloads, checked to be neither retained nor above QoS 0."""
    messages = sent(mqtt, ERRORS)
    assert all((qos, retain) == (0, False) for _, qos, retain in messages)
    return [json.loads(payload) for payload, _, _ in messages]


async def tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float
) -> None:
    """Move the clock on and run what became due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    request: pytest.FixtureRequest,
) -> MockConfigEntry:
    """Set up an entry on the Frigate emulator, CompreFace knowing alice and bob."""
    options = {**OPTIONS, **getattr(request, "param", {})}
    return await setup_frigate_entry(hass, frigate, compreface, options=options)


# -- available ------------------------------------------------------------------------------


async def test_online_on_setup_offline_on_unload(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt: MqttMockHAClient
) -> None:
    """``online`` retained once loaded, ``offline`` retained on unload."""
    assert sent(mqtt, AVAILABLE) == [("online", 0, True)]

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert sent(mqtt, AVAILABLE) == [("online", 0, True), ("offline", 0, True)]


async def test_online_again_after_reconnect(
    hass: HomeAssistant, entry: MockConfigEntry, mqtt: MqttMockHAClient
) -> None:
    """A broker that lost its retained messages hears ``online`` again on reconnect."""
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, False)
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sent(mqtt, AVAILABLE) == [("online", 0, True), ("online", 0, True)]


@pytest.mark.parametrize(
    "entry",
    [
        {
            "mqtt_topic_matches": "home/faces/matches",
            "mqtt_topic_cameras": "home/faces/cameras",
        }
    ],
    indirect=True,
)
async def test_status_topics_follow_the_configured_prefix(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """``available`` sits beside the matches topic; the count under the cameras topic."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    assert sent(mqtt, "home/faces/available") == [("online", 0, True)]
    assert sent(mqtt, "home/faces/cameras/front_door/person") == [("1", 0, True)]
    assert not [
        call
        for call in mqtt.async_publish.call_args_list
        if call.args[0].startswith("double-take/")
    ]


@pytest.mark.parametrize("entry", [{"mqtt_publish": False}], indirect=True)
async def test_nothing_when_publishing_is_off(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """mqtt_publish off: no availability, no count, no error message, no offline."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    compreface.fail_next(500, {"message": "boom"}, count=20)
    await fire(hass, event_message(event_id=f"{EVENT_ID}2"))
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert not [
        call.args[0]
        for call in mqtt.async_publish.call_args_list
        if call.args[0].startswith("double-take/")
    ]


# -- person counts ----------------------------------------------------------------------------


async def test_person_count_retained_then_zero_after_camera_reset(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two persons: ``2`` retained; a later result postpones the reset; then ``0``."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE, BOB)])
    await fire(hass, event_message())
    assert sent(mqtt, FRONT_DOOR_PERSON) == [("2", 0, True)]

    await tick(hass, freezer, 20)
    frigate.set_snapshot(f"{EVENT_ID}2", [face_world.image(ALICE)])
    await fire(hass, event_message(event_id=f"{EVENT_ID}2"))
    assert sent(mqtt, FRONT_DOOR_PERSON)[-1] == ("1", 0, True)

    await tick(hass, freezer, 20)  # 40 s after the first, 20 s after the second
    assert sent(mqtt, FRONT_DOOR_PERSON) == [("2", 0, True), ("1", 0, True)]
    await tick(hass, freezer, 11)
    assert sent(mqtt, FRONT_DOOR_PERSON) == [
        ("2", 0, True),
        ("1", 0, True),
        ("0", 0, True),
    ]
    # Other cameras were never touched.
    assert not sent(mqtt, "double-take/cameras/garden/person")


async def test_results_of_one_camera_at_once_keep_one_reset(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two events of a camera in the same moment: one ``0`` later, no timer left over."""
    for number in (1, 2):
        frigate.set_snapshot(f"{EVENT_ID}{number}", [face_world.image(ALICE)])
    await fire(
        hass,
        event_message(event_id=f"{EVENT_ID}1"),
        event_message(event_id=f"{EVENT_ID}2"),
    )
    assert sent(mqtt, FRONT_DOOR_PERSON) == [("1", 0, True), ("1", 0, True)]
    await tick(hass, freezer, 31)
    assert sent(mqtt, FRONT_DOOR_PERSON)[2:] == [("0", 0, True)]
    # Unloading finds no reset of its own to cancel (a lost one would linger).
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert sent(mqtt, FRONT_DOOR_PERSON)[3:] == []


async def test_empty_result_publishes_zero(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """A run without faces still says ``0`` (the original did, every job)."""
    frigate.set_snapshot(EVENT_ID, [face_world.image()])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message())
    assert sent(mqtt, FRONT_DOOR_PERSON) == [("0", 0, True)]
    assert "double-take/cameras/front_door" not in published(mqtt)


async def test_unload_sets_pending_counts_to_zero(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A retained count must not outlive the integration; no timer is left behind."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert sent(mqtt, FRONT_DOOR_PERSON) == [("1", 0, True), ("0", 0, True)]
    assert sent(mqtt, AVAILABLE)[-1] == ("offline", 0, True)
    await tick(hass, freezer, 60)
    assert len(sent(mqtt, FRONT_DOOR_PERSON)) == 2


# -- payload fields ----------------------------------------------------------------------------


@pytest.mark.parametrize("entry", [{"save_unknown": True}], indirect=True)
async def test_original_field_names_beside_ours(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """``timestamp`` = ``time``, ``filename`` = the saved image's name, ``personCount``."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE, FaceSpec("mallory"))])
    frigate.set_latest("front_door", [404])
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(hass, event_message())

    messages = published(mqtt)
    (person,) = messages["double-take/matches/alice"]
    assert person["timestamp"] == person["time"]
    assert dt_util.parse_datetime(person["timestamp"]) is not None
    image = matches[0].data["image"]
    assert person["match"]["image"] == image  # today's field stays
    assert person["match"]["filename"] == PurePosixPath(image).name
    assert person["match"]["filename"].endswith(".jpg")

    (unknown,) = messages["double-take/matches/unknown"]
    assert unknown["timestamp"] == unknown["time"]
    assert (
        unknown["unknown"]["filename"]
        == PurePosixPath(unknown["unknown"]["image"]).name
    )

    (camera,) = messages["double-take/cameras/front_door"]
    assert camera["timestamp"] == camera["time"]
    assert camera["personCount"] == camera["counts"]["person"] == 2
    assert camera["matches"][0]["filename"] == person["match"]["filename"]
    assert set(camera) >= {
        "id", "duration", "time", "timestamp", "attempts", "camera", "room", "zones",
        "matches", "misses", "unknowns", "counts", "personCount",
    }  # fmt: skip


async def test_filename_is_null_without_a_saved_image(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Unknown faces are not kept by default: their ``filename`` is null, not made up."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(FaceSpec("mallory"))])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message())
    (unknown,) = published(mqtt)["double-take/matches/unknown"]
    assert unknown["unknown"]["image"] is None
    assert unknown["unknown"]["filename"] is None


# -- errors ---------------------------------------------------------------------------------


# One attempt per loop: no delay between attempts, which the frozen clock would hold up.
@pytest.mark.parametrize(
    "entry", [{"snapshot_attempts": 1, "latest_attempts": 1}], indirect=True
)
async def test_detector_failures_one_message_per_minute(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Failed calls in two events: one message; a minute later, one more."""
    compreface.fail_next(500, {"message": "out of memory"}, count=1000)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    (error,) = errors(mqtt)
    assert error["source"] == "detector"
    (detector,) = entry.subentries.values()
    assert error["name"] == detector.title
    assert "500" in error["error"]
    assert error["message"] == f"{error['name']}: {error['error']}"
    assert dt_util.parse_datetime(error["time"]) is not None
    assert set(error) == {"source", "name", "error", "message", "time"}

    frigate.set_snapshot(f"{EVENT_ID}2", [face_world.image(ALICE)])
    await fire(hass, event_message(event_id=f"{EVENT_ID}2"))
    assert len(errors(mqtt)) == 1

    await tick(hass, freezer, 61)
    frigate.set_snapshot(f"{EVENT_ID}3", [face_world.image(ALICE)])
    await fire(hass, event_message(event_id=f"{EVENT_ID}3"))
    assert len(errors(mqtt)) == 2


async def test_frigate_failure_is_published(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
) -> None:
    """Frigate gone during an event: one ``frigate`` message for all its failed fetches."""
    await frigate.stop()
    await fire(hass, event_message())
    (error,) = errors(mqtt)
    assert error["source"] == "frigate"
    assert error["name"] == "Frigate"
    assert error["error"]
    # The run itself ended quietly: nothing found, count 0.
    assert sent(mqtt, FRONT_DOOR_PERSON) == [("0", 0, True)]


async def test_missing_image_is_not_a_frigate_failure(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
) -> None:
    """Frigate answering 404 (no frame yet) is normal, not an error to report."""
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message())
    assert errors(mqtt) == []
