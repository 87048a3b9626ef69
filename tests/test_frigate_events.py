"""Frigate events through MQTT: filters, run control, loops, side effects (SPEC §4, §6.3, §6.4)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import EVENT_MATCH, EVENT_RESULT, EVENT_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar, entity_registry as er

from .common import (
    ALICE,
    BOB,
    EVENT_ID,
    FAST,
    detector_subentry,
    emulator_subentry,
    event_message,
    fire,
    make_entry,
    published,
    setup_entry,
    setup_frigate_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.deepstack import DeepStackEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    request: pytest.FixtureRequest,
) -> MockConfigEntry:
    """Set up an entry on the Frigate emulator with CompreFace knowing alice and bob."""
    options = {**FAST, **getattr(request, "param", {})}
    return await setup_frigate_entry(hass, frigate, compreface, options=options)


async def test_event_to_match(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """A person event: snapshot fetched, alice matched, image saved, event fired, MQTT sent."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    matches = async_capture_events(hass, EVENT_MATCH)
    results = async_capture_events(hass, EVENT_RESULT)

    await fire(hass, event_message())

    (match,) = matches
    assert match.data["name"] == "alice"
    assert match.data["camera"] == "front_door"
    assert match.data["event_id"] == EVENT_ID
    assert match.data["zones"] == ["porch"]
    assert match.data["type"] in {"snapshot", "latest"}
    assert match.data["confidence"] == 95.0
    image = Path(hass.config.path("double_take", match.data["image"]))
    assert image.is_file()
    assert image.parent == Path(hass.config.path("double_take/matches/alice"))
    assert EVENT_ID in image.name

    result = results[0].data
    assert result["id"] == EVENT_ID
    assert result["room"] == "Front Door"
    assert result["counts"]["match"] == 1

    messages = published(mqtt)
    (person,) = messages["double-take/matches/alice"]
    assert person["match"]["name"] == "alice"
    assert person["id"] == EVENT_ID
    assert "matches" not in person
    (camera,) = messages["double-take/cameras/front_door"]
    assert camera["matches"][0]["name"] == "alice"
    assert "double-take/matches/unknown" not in messages

    snapshot = frigate.requests_to(f"/api/events/{EVENT_ID}/snapshot.jpg")[0]
    assert snapshot.query == {"crop": "1", "h": "800", "height": "800"}


async def test_stop_on_match_stops_both_loops(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """The first match ends the snapshot and latest loops: at most one image each."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    frigate.set_latest("front_door", [face_world.image(ALICE), face_world.image()])
    await fire(hass, event_message())
    assert len(frigate.requests_to(f"/api/events/{EVENT_ID}/snapshot.jpg")) == 1
    assert len(frigate.requests_to("/api/front_door/latest.jpg")) == 1


async def test_not_found_then_image(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """404 and an HTML page are failed attempts; the loop retries until an image comes."""
    frigate.set_snapshot(EVENT_ID, [404, "html", face_world.image(ALICE)])
    frigate.set_latest("front_door", [404])
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(hass, event_message())
    assert matches[0].data["type"] == "snapshot"
    assert len(frigate.requests_to(f"/api/events/{EVENT_ID}/snapshot.jpg")) == 3


async def test_identical_images_not_sent_again(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """The same frame three times goes to the detector once."""
    blank = face_world.image()
    frigate.set_snapshot(EVENT_ID, [blank])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message())
    assert len(frigate.requests_to(f"/api/events/{EVENT_ID}/snapshot.jpg")) == 3
    assert len(compreface.requests_to("/api/v1/recognition/recognize")) == 1


@pytest.mark.parametrize(
    "message",
    [
        event_message("end"),
        event_message(false_positive=True),
        event_message(label="car"),
        event_message(camera="driveway"),
        event_message(current_zones=["street"]),
        event_message(area=10),
    ],
    ids=["end", "false_positive", "label", "camera", "zone", "area"],
)
@pytest.mark.parametrize(
    "entry",
    [
        {
            "cameras": ["front_door"],
            "zones": ["front_door.porch"],
            "min_object_area": 1000,
        }
    ],
    indirect=True,
)
async def test_filtered_events_fetch_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each filter skips the event before any request, with a debug line saying why."""
    caplog.set_level(logging.DEBUG, logger="custom_components.double_take")
    await fire(hass, message)
    assert not [r for r in frigate.requests if r.path.endswith(".jpg")]
    assert "Skipping event" in caplog.text


async def test_updates_during_a_run_rerun_once_and_reruns_bounded(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """A new event and many updates while running → two runs; three runs at most."""
    frigate.set_snapshot(EVENT_ID, [404])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message("new"), *[event_message("update")] * 10)
    snapshots = frigate.requests_to(f"/api/events/{EVENT_ID}/snapshot.jpg")
    # One run of three attempts, and one more for the updates that came during it.
    assert len(snapshots) == 6

    for _ in range(4):
        await fire(hass, event_message("update"))
    snapshots = frigate.requests_to(f"/api/events/{EVENT_ID}/snapshot.jpg")
    assert len(snapshots) == 9  # run three; later updates are ignored


async def test_face_shown_late_is_recognized(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """First run sees no face; an update starts a second run that finds alice."""
    matches = async_capture_events(hass, EVENT_MATCH)
    frigate.set_snapshot(EVENT_ID, [face_world.image()])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message("new"))
    assert matches == []
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message("update"))
    assert [m.data["name"] for m in matches] == ["alice"]
    # Matched: later updates are not processed again.
    requests = len(frigate.requests)
    await fire(hass, event_message("update"))
    assert len(frigate.requests) == requests


async def test_events_of_different_cameras_run_concurrently(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Two events at once are both processed (no global busy flag)."""
    frigate.set_snapshot("1760011300.5-a", [face_world.image(ALICE)])
    frigate.set_snapshot("1760011300.5-b", [face_world.image(BOB)])
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(
        hass,
        event_message(event_id="1760011300.5-a", camera="front_door"),
        event_message(event_id="1760011300.5-b", camera="garden", current_zones=[]),
    )
    assert {(m.data["name"], m.data["camera"]) for m in matches} == {
        ("alice", "front_door"),
        ("bob", "garden"),
    }


@pytest.mark.parametrize("entry", [{"update_sub_label": True}], indirect=True)
async def test_sub_label_written(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Names sorted and joined, best confidence as 0–1 score."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(BOB, ALICE)])
    await fire(hass, event_message())
    assert frigate.sub_labels == [
        (EVENT_ID, {"subLabel": "alice, bob", "subLabelScore": 0.95})
    ]


async def test_no_sub_label_by_default(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """update_sub_label is off by default."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    assert frigate.sub_labels == []


@pytest.mark.parametrize("entry", [{"update_sub_label": True}], indirect=True)
async def test_failing_side_effect_does_not_block_others(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Publishing on MQTT fails: logged, and the event and the sub label still happen."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    matches = async_capture_events(hass, EVENT_MATCH)
    mqtt.async_publish.side_effect = OSError("broker gone")
    await fire(hass, event_message())
    assert [m.data["name"] for m in matches] == ["alice"]
    assert frigate.sub_labels == [
        (EVENT_ID, {"subLabel": "alice", "subLabelScore": 0.95})
    ]
    assert "Publishing on MQTT failed" in caplog.text


@pytest.mark.parametrize("entry", [{"save_unknown": True}], indirect=True)
async def test_unknown_face(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """A stranger: unknown event, unknown topic, image kept in unknown/ when asked."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(FaceSpec("mallory"))])
    frigate.set_latest("front_door", [404])
    unknowns = async_capture_events(hass, EVENT_UNKNOWN)
    await fire(hass, event_message())
    (event,) = unknowns
    assert event.data["name"] == "unknown"
    assert event.data["image"].startswith("unknown/")
    assert Path(hass.config.path("double_take", event.data["image"])).is_file()
    (payload,) = published(mqtt)["double-take/matches/unknown"]
    assert payload["unknown"]["name"] == "unknown"
    assert len(payload["unknowns"]) == 1


@pytest.mark.parametrize("entry", [{"mqtt_publish": False}], indirect=True)
async def test_mqtt_publish_off(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """With mqtt_publish off nothing is published."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    assert published(mqtt) == {}


async def test_malformed_payloads_then_valid_event(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Garbage is logged and ignored; the next valid event is processed."""
    caplog.set_level(logging.DEBUG, logger="custom_components.double_take")
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(
        hass,
        "not json",
        "[1, 2, 3]",
        '{"type": "new"}',
        '{"type": "new", "after": {"id": 5, "camera": ["x"], "label": null}}',
        b"\xff\xd8\xff\xe0 binary",
        "{" + " " * (1024 * 1024) + "}",
        event_message(),
    )
    assert [m.data["name"] for m in matches] == ["alice"]
    # The binary payload is dropped by HA's MQTT integration (not UTF-8); the rest by us.
    assert caplog.text.count("Ignoring message") == 5


async def test_detector_cameras_filter(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    deepstack: DeepStackEmulator,
    face_world: FaceWorld,
) -> None:
    """A detector limited to other cameras is not asked; one failing detector is harmless."""
    compreface.subjects["alice"] = ["alice"]
    deepstack.fail_next(
        500, {"success": False, "error": "error occured on the server"}, count=10
    )
    await setup_entry(
        hass,
        make_entry(
            frigate_url=frigate.url,
            detectors=[
                emulator_subentry(compreface),
                emulator_subentry(deepstack, cameras=["front_door"]),
                detector_subentry(
                    "deepstack", deepstack.url + "/", cameras=["garden"], title="ds2"
                ),
            ],
            options=FAST,
        ),
    )
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    frigate.set_latest("front_door", [404])
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(hass, event_message())
    assert [m.data["detector"] for m in matches] == ["compreface"]
    # Only the front_door deepstack was asked, once.
    assert len(deepstack.requests_to("/v1/vision/face/recognize")) == 1


async def test_room_from_camera_area(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """The result's room is the area of Frigate's camera entity when it has one."""
    area = ar.async_get(hass).async_create("Entrance")
    er.async_get(hass).async_get_or_create(
        "camera", "frigate", "front_door_cam", suggested_object_id="front_door"
    )
    er.async_get(hass).async_update_entity("camera.front_door", area_id=area.id)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    results = async_capture_events(hass, EVENT_RESULT)
    await fire(hass, event_message())
    assert results[0].data["room"] == "Entrance"


async def test_options_apply_without_reload(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Raising the confidence above alice's score turns her match into a miss, no reload."""
    data = entry.runtime_data
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "confidence": 99}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data is data  # not reloaded
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    results = async_capture_events(hass, EVENT_RESULT)
    await fire(hass, event_message())
    assert results[0].data["matches"] == []
    assert results[0].data["misses"][0]["name"] == "alice"


async def test_unload_unsubscribes(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """After unload, Frigate events are no longer processed."""
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await fire(hass, event_message())
    assert frigate.requests_to(f"/api/events/{EVENT_ID}/snapshot.jpg") == []
