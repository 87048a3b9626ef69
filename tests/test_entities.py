"""Entities users automate on (SPEC §6.1, §6.2): persons, unknown, cameras, detectors."""

from __future__ import annotations

from datetime import timedelta
import io
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MqttMockHAClient,
)

from custom_components.double_take import async_remove_config_entry_device
from custom_components.double_take.const import DOMAIN
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util

from .common import ALICE, BOB, EVENT_ID, FAST, event_message, fire, setup_frigate_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

OPTIONS = {**FAST, "presence_timeout": 60, "camera_reset": 30}


async def start(
    hass: HomeAssistant, frigate: FrigateEmulator, compreface: CompreFaceEmulator
) -> MockConfigEntry:
    """Set up an entry on Frigate with CompreFace knowing alice and bob."""
    return await setup_frigate_entry(hass, frigate, compreface, options=OPTIONS)


@pytest.fixture
async def entry(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> MockConfigEntry:
    """Set up a loaded entry whose detector knows alice and bob."""
    return await start(hass, frigate, compreface)


async def test_known_persons_have_entities_before_a_match(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """Persons from the train folder and from the detector's list exist up front."""
    Path(hass.config.path("double_take/train/Carol")).mkdir(parents=True)
    await start(hass, frigate, compreface)
    for name in ("alice", "bob", "carol"):
        assert hass.states.get(f"sensor.double_take_{name}").state == STATE_UNKNOWN
        assert (
            hass.states.get(f"sensor.double_take_{name}_last_seen").state
            == STATE_UNKNOWN
        )
        assert (
            hass.states.get(f"binary_sensor.double_take_{name}_presence").state
            == STATE_OFF
        )
        assert hass.states.get(f"image.double_take_{name}_last_face") is not None
    assert hass.states.get("sensor.double_take_unknown").state == STATE_UNKNOWN
    assert hass.states.get("image.double_take_unknown_last_face") is not None
    # Display names keep the case they were created with.
    entry_id = hass.config_entries.async_entries(DOMAIN)[0].entry_id
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry_id}:person:carol"), entry_id
    )
    assert device is not None
    assert device.name == "Double Take Carol"
    # Frigate's cameras have their entities.
    for camera in ("front_door", "garden"):
        assert hass.states.get(f"sensor.double_take_{camera}").state == "0"
        assert (
            hass.states.get(f"switch.double_take_{camera}_recognition").state
            == STATE_ON
        )
        assert hass.states.get(f"event.double_take_{camera}").state == STATE_UNKNOWN
        assert hass.states.get(f"image.double_take_{camera}") is not None


async def test_match_updates_person_and_camera(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two people in one event: both persons and the camera count update; they reset later."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE, BOB)])
    await fire(hass, event_message())

    alice = hass.states.get("sensor.double_take_alice")
    assert alice.state == "front_door"
    assert alice.attributes["confidence"] == 95.0
    assert alice.attributes["detector"] == "compreface"
    assert alice.attributes["event_id"] == EVENT_ID
    assert alice.attributes["zones"] == ["porch"]
    assert alice.attributes["box"] == {
        "top": 100,
        "left": 200,
        "width": 150,
        "height": 180,
    }
    assert alice.attributes["image"].startswith("matches/alice/")
    assert hass.states.get("sensor.double_take_bob").attributes["confidence"] == 88.0
    last_seen = dt_util.parse_datetime(
        hass.states.get("sensor.double_take_alice_last_seen").state
    )
    assert abs((dt_util.utcnow() - last_seen).total_seconds()) < 5
    assert hass.states.get("binary_sensor.double_take_alice_presence").state == STATE_ON

    camera = hass.states.get("sensor.double_take_front_door")
    assert camera.state == "2"
    assert sorted(camera.attributes["matches"]) == ["alice", "bob"]
    assert camera.attributes["event_id"] == EVENT_ID
    assert hass.states.get("sensor.double_take_garden").state == "0"

    event = hass.states.get("event.double_take_front_door")
    assert event.attributes["event_type"] == "match"
    assert event.attributes["event_id"] == EVENT_ID

    freezer.tick(timedelta(seconds=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.double_take_front_door").state == "0"
    assert hass.states.get("binary_sensor.double_take_alice_presence").state == STATE_ON

    freezer.tick(timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert (
        hass.states.get("binary_sensor.double_take_alice_presence").state == STATE_OFF
    )
    # The person sensor keeps the camera of the last match.
    assert hass.states.get("sensor.double_take_alice").state == "front_door"


async def test_same_person_on_two_cameras(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """The person sensor follows the latest camera."""
    frigate.set_snapshot("1760011300.5-one", [face_world.image(ALICE)])
    frigate.set_snapshot("1760011300.5-two", [face_world.image(ALICE)])
    await fire(hass, event_message(event_id="1760011300.5-one"))
    await fire(
        hass,
        event_message(event_id="1760011300.5-two", camera="garden", current_zones=[]),
    )
    alice = hass.states.get("sensor.double_take_alice")
    assert alice.state == "garden"
    assert alice.attributes["event_id"] == "1760011300.5-two"


async def test_new_person_gets_entities_at_run_time(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """A name first seen in a match gets its entities without a reload."""
    assert hass.states.get("sensor.double_take_dave") is None
    compreface.subjects["Dave"] = ["dave"]
    frigate.set_snapshot(
        EVENT_ID, [face_world.image(FaceSpec("dave", (100, 100, 150, 150)))]
    )
    await fire(hass, event_message())
    assert hass.states.get("sensor.double_take_dave").state == "front_door"
    assert hass.states.get("binary_sensor.double_take_dave_presence").state == STATE_ON
    assert entry.runtime_data.persons.names == ["alice", "bob", "dave"]
    # A reload right away keeps the new person (the index is written on unload).
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data.persons.names == ["alice", "bob", "dave"]
    assert hass.states.get("sensor.double_take_dave").state == "front_door"


async def test_unknown_face_entities(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
) -> None:
    """A stranger updates sensor.double_take_unknown and its image."""
    stranger = face_world.image(FaceSpec("mallory"))
    frigate.set_snapshot(EVENT_ID, [stranger])
    frigate.set_latest("front_door", [404])
    await fire(hass, event_message())
    assert hass.states.get("sensor.double_take_unknown").state == "front_door"
    assert (
        hass.states.get("event.double_take_front_door").attributes["event_type"]
        == "unknown"
    )
    client = await hass_client()
    response = await client.get("/api/image_proxy/image.double_take_unknown_last_face")
    assert response.status == 200
    # The stranger's face with its margin, cropped out of the 640×480 frame.
    box = hass.states.get("image.double_take_unknown_last_face").attributes["box"]
    width, height = box["width"], box["height"]
    assert Image.open(io.BytesIO(await response.read())).size == (
        width + 2 * round(width / 4),
        height + 2 * round(height / 4),
    )


async def test_images_served(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
) -> None:
    """The person image is the face (cropped); the camera image has the face box drawn."""
    image = face_world.image(ALICE)
    frigate.set_snapshot(EVENT_ID, [image])
    await fire(hass, event_message())
    client = await hass_client()

    response = await client.get("/api/image_proxy/image.double_take_alice_last_face")
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    left, top, width, height = ALICE.box
    face = Image.open(io.BytesIO(await response.read()))
    # The box with a quarter of its size as margin on every side, nothing else.
    assert face.size == (width + 2 * round(width / 4), height + 2 * round(height / 4))
    state = hass.states.get("image.double_take_alice_last_face")
    assert state.attributes["box"] == {
        "top": top,
        "left": left,
        "width": width,
        "height": height,
    }

    response = await client.get("/api/image_proxy/image.double_take_front_door")
    assert response.status == 200
    drawn = Image.open(io.BytesIO(await response.read())).convert("RGB")
    assert drawn.size == (640, 480)
    # The box edge of alice's face (left 200, top 100) is drawn in the match colour.
    red, green, blue = drawn.getpixel((200, 150))
    assert green > 150 and red < 120 and blue < 120


async def test_recognition_switch_skips_camera(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
) -> None:
    """Switching recognition off skips the camera's events; on again processes them."""
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    await hass.services.async_call(
        "switch",
        "turn_off",
        {"entity_id": "switch.double_take_front_door_recognition"},
        blocking=True,
    )
    await fire(hass, event_message())
    assert frigate.snapshot_requests(EVENT_ID) == []
    await hass.services.async_call(
        "switch",
        "turn_on",
        {"entity_id": "switch.double_take_front_door_recognition"},
        blocking=True,
    )
    await fire(hass, event_message("update"))
    assert hass.states.get("sensor.double_take_alice").state == "front_door"


@pytest.mark.parametrize(
    ("box", "shows_face"),
    [
        ({"top": 100, "left": 200, "width": 150, "height": 180}, True),
        (None, False),  # a state saved before face crops: the whole image
        ({"top": "x"}, False),  # a broken attribute: the whole image
        ({"top": 9000, "left": 9000, "width": 9, "height": 9}, False),  # not in it
    ],
)
async def test_state_restored_after_restart(
    box: dict[str, Any] | None,
    shows_face: bool,
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    hass_client: ClientSessionGenerator,
) -> None:
    """Last match, last seen, presence (if not expired), switch and image survive a restart."""
    seen = (dt_util.utcnow() - timedelta(seconds=20)).replace(microsecond=0)
    saved = Path(hass.config.path("double_take/matches/alice/old.jpg"))
    saved.parent.mkdir(parents=True)
    picture = face_world.image(ALICE)
    saved.write_bytes(picture)
    until_alice = (seen + timedelta(seconds=60)).isoformat()
    until_bob = (seen - timedelta(seconds=60)).isoformat()
    last_seen = {"__type": "<class 'datetime.datetime'>", "isoformat": seen.isoformat()}
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(
                    "sensor.double_take_alice",
                    "garden",
                    {"confidence": 91.5, "event_id": "old", "friendly_name": "x"},
                ),
                {},
            ),
            (
                State("sensor.double_take_alice_last_seen", seen.isoformat()),
                {"native_value": last_seen, "native_unit_of_measurement": None},
            ),
            (
                State(
                    "binary_sensor.double_take_alice_presence",
                    STATE_ON,
                    {"until": until_alice},
                ),
                {},
            ),
            (
                State(
                    "binary_sensor.double_take_bob_presence",
                    STATE_ON,
                    {"until": until_bob},
                ),
                {},
            ),
            (State("switch.double_take_garden_recognition", STATE_OFF), {}),
            (
                State(
                    "image.double_take_alice_last_face",
                    seen.isoformat(),
                    {"file": "matches/alice/old.jpg", "box": box},
                ),
                {},
            ),
        ],
    )
    await start(hass, frigate, compreface)
    alice = hass.states.get("sensor.double_take_alice")
    assert alice.state == "garden"
    assert alice.attributes["confidence"] == 91.5
    assert alice.attributes["friendly_name"] == "Double Take alice"
    assert (
        dt_util.parse_datetime(
            hass.states.get("sensor.double_take_alice_last_seen").state
        )
        == seen
    )
    assert hass.states.get("binary_sensor.double_take_alice_presence").state == STATE_ON
    assert hass.states.get("binary_sensor.double_take_bob_presence").state == STATE_OFF
    assert hass.states.get("switch.double_take_garden_recognition").state == STATE_OFF
    response = await (await hass_client()).get(
        "/api/image_proxy/image.double_take_alice_last_face"
    )
    shown = await response.read()
    if shows_face:
        assert Image.open(io.BytesIO(shown)).size == (150 + 2 * 38, 180 + 2 * 45)
    else:
        assert shown == picture


async def test_detector_health_and_repair(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    compreface: CompreFaceEmulator,
    frigate: FrigateEmulator,
    face_world: FaceWorld,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A dead detector turns its sensor off; after 10 minutes a repair issue; recovery clears it."""
    (health,) = [
        state
        for state in hass.states.async_all("binary_sensor")
        if state.attributes.get("device_class") == "connectivity"
    ]
    assert health.state == STATE_ON
    registry_entry = er.async_get(hass).async_get(health.entity_id)
    assert registry_entry.entity_category == er.EntityCategory.DIAGNOSTIC
    assert registry_entry.config_subentry_id == next(iter(entry.subentries))

    before = len(compreface.requests)
    await compreface.stop()
    frigate.set_latest("front_door", [face_world.image(ALICE)])
    # A real call fails (time is frozen here, so use a single-attempt recognition).
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "recognize",
            {"url": f"{frigate.url}/api/front_door/latest.jpg"},
            blocking=True,
            return_response=True,
        )
    state = hass.states.get(health.entity_id)
    assert state.state == STATE_OFF
    assert "Cannot connect" in state.attributes["error"]
    assert state.attributes["failing_since"] is not None

    for _ in range(21):  # 10.5 minutes of 30 s ticks; checks back off meanwhile
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    issue_id = f"detector_unreachable_{next(iter(entry.subentries))}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert len(compreface.requests) == before  # the server is down: nothing arrived
    # Checked with back-off (30 s, 60 s, 120 s, 240 s …), not on every 30 s tick.
    health_state = entry.runtime_data.health.states[next(iter(entry.subentries))]
    assert 3 <= health_state.failures <= 5

    await compreface.start()
    for _ in range(20):
        freezer.tick(timedelta(seconds=30))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        if hass.states.get(health.entity_id).state == STATE_ON:
            break
    assert hass.states.get(health.entity_id).state == STATE_ON
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_unique_ids_and_stale_devices(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """Unique ids are stable; a camera gone from Frigate loses its device on the next start."""
    entry = await start(hass, frigate, compreface)
    registry = er.async_get(hass)
    assert (
        registry.async_get("sensor.double_take_alice").unique_id
        == f"{entry.entry_id}:person:alice"
    )
    assert registry.async_get("switch.double_take_garden_recognition").unique_id == (
        f"{entry.entry_id}:recognition:garden"
    )
    await hass.config_entries.async_unload(entry.entry_id)
    frigate.cameras.pop("garden")
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    devices = dr.async_get(hass)
    garden = (DOMAIN, f"{entry.entry_id}:camera:garden")
    front_door = (DOMAIN, f"{entry.entry_id}:camera:front_door")
    assert devices.async_get_device_by_identifier(garden, entry.entry_id) is None
    assert devices.async_get_device_by_identifier(front_door, entry.entry_id)
    assert hass.states.get("sensor.double_take_garden") is None


async def test_remove_person_removes_entities(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Forgetting a person removes the device and its entities."""
    persons = entry.runtime_data.persons
    persons.async_remove("ALICE")
    await hass.async_block_till_done()
    assert hass.states.get("sensor.double_take_alice") is None
    assert persons.names == ["bob"]
    persons.async_remove("nobody")  # unknown names are ignored
    persons.async_add("unknown")  # the unknown device is not a person
    persons.async_add("../evil")  # invalid names are refused
    assert persons.names == ["bob"]


async def test_user_can_delete_person_and_stale_devices(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """A person's device may be deleted (the person is forgotten); a live camera's not."""
    devices = dr.async_get(hass)
    alice = devices.async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}:person:alice"), entry.entry_id
    )
    camera = devices.async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}:camera:front_door"), entry.entry_id
    )
    stale = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "old-camera")}
    )
    assert await async_remove_config_entry_device(hass, entry, camera) is False
    assert await async_remove_config_entry_device(hass, entry, stale) is True
    assert await async_remove_config_entry_device(hass, entry, alice) is True
    assert entry.runtime_data.persons.names == ["bob"]
