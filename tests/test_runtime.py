"""What a loaded entry does over time: new Frigate cameras, outages logged once, clean-up."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import DOMAIN, EVENT_MATCH, EVENT_RESULT
from custom_components.double_take.frigate_connection import CONFIG_REFRESH
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    area_registry as ar,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.util import dt as dt_util

from .common import (
    ALICE,
    BOB,
    EVENT_ID,
    FAST,
    event_message,
    fire,
    setup_detectors,
    setup_frigate_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceSpec, FaceWorld

LOGGER = "custom_components.double_take"
PUBLISH = "custom_components.double_take.publish"
STORAGE = "custom_components.double_take.storage"
SOURCES = "custom_components.double_take.api.sources"


async def refresh_frigate(hass: HomeAssistant) -> None:
    """Let the time pass after which Double Take reads Frigate's config again."""
    async_fire_time_changed(hass, dt_util.utcnow() + CONFIG_REFRESH + timedelta(1))
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_camera_added_to_frigate_appears_without_reload(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """A camera added in Frigate gets its device and entities at the next config read."""
    entry = await setup_frigate_entry(hass, frigate, compreface)
    data = entry.runtime_data
    assert hass.states.get("switch.double_take_side_gate_recognition") is None

    frigate.cameras["side_gate"] = []
    await refresh_frigate(hass)

    assert entry.runtime_data is data  # not reloaded
    assert hass.states.get("switch.double_take_side_gate_recognition").state == "on"
    assert hass.states.get("sensor.double_take_side_gate").state == "0"
    assert hass.states.get("event.double_take_side_gate") is not None
    assert hass.states.get("image.double_take_side_gate") is not None
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}:camera:side_gate"), entry.entry_id
    )
    assert device is not None
    # Cameras it knew already are not added twice.
    await refresh_frigate(hass)
    assert len(hass.states.async_entity_ids("switch")) == len(frigate.cameras)


async def test_changed_topic_prefix_reloads(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """Frigate now publishing under another prefix: the entry reloads and follows it."""
    entry = await setup_frigate_entry(hass, frigate, compreface)
    frigate.topic_prefix = "nvr"
    await refresh_frigate(hass)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.frigate is not None
    assert entry.runtime_data.frigate.events_topic == "nvr/events"


@pytest.mark.allow_errors  # HA's coordinator logs Frigate going away at ERROR
async def test_frigate_down_at_runtime_logged_once(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frigate unreachable for several config reads: one line when it goes, one when back."""
    entry = await setup_frigate_entry(hass, frigate, compreface)
    await frigate.stop()
    for _ in range(3):
        await refresh_frigate(hass)
    assert caplog.text.count("Error fetching Frigate") == 1
    assert entry.state is ConfigEntryState.LOADED
    await frigate.start()  # the same port again
    await refresh_frigate(hass)
    assert caplog.text.count("recovered") == 1


@pytest.mark.parametrize(
    "entry_options", [{"update_sub_label": True, "mqtt_publish": True}]
)
async def test_side_effect_outages_logged_once(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
    entry_options: dict[str, Any],
) -> None:
    """A broker and a sub label failing for three events: one warning each, then "again"."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    await setup_frigate_entry(
        hass, frigate, compreface, options={**FAST, **entry_options}
    )
    matches = async_capture_events(hass, EVENT_MATCH)
    mqtt.async_publish.side_effect = OSError("broker gone")
    for number in range(3):
        event_id = f"{EVENT_ID}{number}"
        frigate.set_snapshot(event_id, [face_world.image(ALICE)])
        frigate.events.discard(event_id)  # Frigate answers 404 to its sub label
        await fire(hass, event_message(event_id=event_id))
    assert len(matches) == 3  # the events still went through
    assert caplog.text.count("Publishing on MQTT failed") == 1
    assert caplog.text.count("Writing Frigate sub labels failed") == 1
    assert "Traceback" not in caplog.text

    mqtt.async_publish.side_effect = None
    frigate.set_snapshot("1760011300.5-again", [face_world.image(ALICE)])
    await fire(hass, event_message(event_id="1760011300.5-again"))
    assert "Publishing on MQTT works again" in caplog.text
    assert "Writing Frigate sub labels works again" in caplog.text


async def test_recognize_without_mqtt_says_so_once(
    hass: HomeAssistant,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Any,
) -> None:
    """The quick start (no Frigate, no MQTT): one info line, no warning per result."""
    caplog.set_level(logging.INFO, logger=LOGGER)
    compreface.subjects["alice"] = ["alice"]
    await setup_detectors(hass, compreface)
    image = tmp_path / "visitor.jpg"
    image.write_bytes(face_world.image(ALICE))
    hass.config.allowlist_external_dirs.add(str(tmp_path))
    for _ in range(2):
        response = await hass.services.async_call(
            DOMAIN,
            "recognize",
            {"image_path": str(image)},
            blocking=True,
            return_response=True,
        )
        assert [m["name"] for m in response["matches"]] == ["alice"]
    assert caplog.text.count("MQTT is not set up") == 1
    assert "Publishing on MQTT failed" not in caplog.text


async def test_removed_detector_forgets_what_it_was_trained_on(
    hass: HomeAssistant, compreface: CompreFaceEmulator
) -> None:
    """The trained hashes of a detector subentry that is gone are dropped at setup."""
    entry = await setup_detectors(hass, compreface)
    (handle,) = entry.runtime_data.detectors
    index = entry.runtime_data.index
    index.record_trained(handle.id, "alice", "abc", None)
    index.record_trained("removed-detector", "alice", "def", None)
    await index.async_save()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.index.trained_counts() == {handle.id: 1}


@pytest.mark.allow_errors  # a broken side effect is logged with its traceback
async def test_one_broken_side_effect_does_not_stop_the_others(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bus events and MQTT fail unexpectedly, image writes fail: the entities still update."""
    await setup_frigate_entry(hass, frigate, compreface)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    with (
        patch(f"{PUBLISH}.fire_events", side_effect=RuntimeError("bus broken")),
        patch(f"{PUBLISH}.publish_mqtt", side_effect=RuntimeError("bug")),
        patch(f"{STORAGE}.MediaStore.write_images", side_effect=OSError("disk full")),
    ):
        await fire(hass, event_message())
    assert "Firing events for" in caplog.text
    assert "Publishing on MQTT failed" in caplog.text
    assert "Saving images failed" in caplog.text
    state = hass.states.get("sensor.double_take_alice")
    assert state.state == "front_door"
    assert state.attributes["image"] is None  # nothing was written
    assert not any(Path(hass.config.path("double_take", "matches")).iterdir())


async def test_name_that_cannot_be_a_folder_is_matched_but_not_saved(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
    config_dir: Path,
) -> None:
    """A detector naming someone ``../evil``: the match counts, no file anywhere."""
    await setup_frigate_entry(hass, frigate, compreface, known=("../evil",))
    frigate.set_snapshot(EVENT_ID, [face_world.image(FaceSpec("../evil", ALICE.box))])
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(hass, event_message())
    (match,) = matches
    assert match.data["name"] == "../evil"
    assert match.data["image"] is None
    assert "Ignoring person name '../evil'" in caplog.text
    assert not (config_dir / "evil").exists()
    assert not any(Path(hass.config.path("double_take", "matches")).iterdir())


@pytest.mark.allow_errors  # the failed run is logged with its traceback
async def test_a_failing_run_releases_its_event(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug in one run is logged; the event can run again on its next update."""
    entry = await setup_frigate_entry(hass, frigate, compreface)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    with patch.object(
        entry.runtime_data.recognizer, "recognize", side_effect=RuntimeError("bug")
    ):
        await fire(hass, event_message())
    assert f"Processing Frigate event {EVENT_ID} failed" in caplog.text
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(hass, event_message("update"))
    assert len(matches) == 1


async def test_unload_cancels_running_events(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """Unloading while an event runs stops it: nothing is published afterwards."""
    entry = await setup_frigate_entry(
        hass, frigate, compreface, options={**FAST, "attempt_delay": 30}
    )
    frigate.set_snapshot(EVENT_ID, [404] * 3)
    results = async_capture_events(hass, EVENT_RESULT)
    async_fire_mqtt_message(hass, "frigate/events", event_message())
    async with asyncio.timeout(5):
        while not frigate.snapshot_requests(EVENT_ID):
            await asyncio.sleep(0.01)
    # The run made its first attempt and now waits 30 s for the next.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert results == []
    assert len(frigate.snapshot_requests(EVENT_ID)) == 1


async def test_frigate_jitter_spreads_requests(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """With ``frigate_jitter`` every Frigate request waits a random moment first."""
    await setup_frigate_entry(
        hass, frigate, compreface, options={**FAST, "frigate_jitter": 0.05}
    )
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    waits: list[float] = []
    with patch(
        f"{SOURCES}.random.uniform", side_effect=lambda a, b: waits.append(b) or 0.01
    ):
        await fire(hass, event_message())
    assert waits and set(waits) == {0.05}


async def test_room_from_the_camera_device_area(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """A camera entity without an area takes its device's area as the room."""
    entry = await setup_frigate_entry(hass, frigate, compreface)
    hall = ar.async_get(hass).async_create("Hall")
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("frigate", "front_door")}
    )
    dr.async_get(hass).async_update_device(device.id, area_id=hall.id)
    er.async_get(hass).async_get_or_create(
        "camera",
        "frigate",
        "front_door_cam",
        suggested_object_id="front_door",
        device_id=device.id,
    )
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    matches = async_capture_events(hass, EVENT_MATCH)
    await fire(hass, event_message())
    assert matches[0].data["room"] == "Hall"


async def test_strangers_in_one_image_share_its_saved_file(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """Two unknown faces in one frame: one file in unknown/, named by both faces."""
    await setup_frigate_entry(
        hass, frigate, compreface, options={**FAST, "save_unknown": True}
    )
    strangers = [FaceSpec("mallory", ALICE.box), FaceSpec("trudy", BOB.box)]
    frigate.set_snapshot(EVENT_ID, [face_world.image(*strangers)])
    frigate.set_latest("front_door", [404])
    results = async_capture_events(hass, EVENT_RESULT)
    await fire(hass, event_message())
    unknowns = results[0].data["unknowns"]
    assert len(unknowns) == 2
    assert unknowns[0]["image"] == unknowns[1]["image"]
    assert unknowns[0]["image"].startswith("unknown/")
    assert len(list(Path(hass.config.path("double_take", "unknown")).iterdir())) == 1
