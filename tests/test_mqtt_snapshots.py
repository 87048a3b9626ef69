"""Frigate's person snapshots on MQTT as attempts of a running event (option mqtt_snapshots)."""

from __future__ import annotations

import asyncio

from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import EVENT_RESULT
from homeassistant.core import HomeAssistant

from .common import ALICE, EVENT_ID, event_message, setup_frigate_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceWorld

SNAPSHOT_TOPIC = "frigate/front_door/person/snapshot"
RECOGNIZE = "/api/v1/recognition/recognize"
# Slow attempts: the event's run lasts long enough for snapshots to arrive during it.
SLOW = {"attempt_delay": 0.3, "snapshot_attempts": 3, "latest_attempts": 0}


async def start_event(hass: HomeAssistant) -> None:
    """Publish a Frigate event and let its run start (not finish)."""
    async_fire_mqtt_message(hass, "frigate/events", event_message())
    await asyncio.sleep(0.05)


async def finish(hass: HomeAssistant) -> None:
    """Wait for every run to end."""
    await hass.async_block_till_done(wait_background_tasks=True)


async def setup(
    hass: HomeAssistant,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    *,
    enabled: bool,
) -> MockConfigEntry:
    """Set up an entry on the emulators with the option on or off."""
    return await setup_frigate_entry(
        hass, frigate, compreface, options={**SLOW, "mqtt_snapshots": enabled}
    )


async def test_snapshot_feeds_a_running_event(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """A snapshot published during the event's run is analysed as type mqtt; it matches."""
    await setup(hass, frigate, compreface, enabled=True)
    frigate.add_event(EVENT_ID)
    results = async_capture_events(hass, EVENT_RESULT)

    await start_event(hass)
    # Other cameras' snapshots, retained ones and what is not an image change nothing.
    async_fire_mqtt_message(
        hass, "frigate/back_door/person/snapshot", face_world.image(ALICE)
    )
    async_fire_mqtt_message(hass, SNAPSHOT_TOPIC, face_world.image(ALICE), retain=True)
    async_fire_mqtt_message(hass, SNAPSHOT_TOPIC, b"not an image")
    async_fire_mqtt_message(hass, SNAPSHOT_TOPIC, face_world.image(ALICE))
    await finish(hass)

    (result,) = results
    (match,) = result.data["matches"]
    # Attempt 1 was the one that is not an image; the others never reached the run.
    assert (match["name"], match["type"], match["attempt"]) == ("alice", "mqtt", 2)
    assert len(compreface.requests_to(RECOGNIZE)) == 1
    # Stopped at the match: the event's snapshot was not fetched a third time.
    assert len(frigate.snapshot_requests(EVENT_ID)) < SLOW["snapshot_attempts"]


async def test_snapshot_without_running_event_is_ignored(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """No event of the camera running: the snapshot is not analysed."""
    await setup(hass, frigate, compreface, enabled=True)
    results = async_capture_events(hass, EVENT_RESULT)
    async_fire_mqtt_message(hass, SNAPSHOT_TOPIC, face_world.image(ALICE))
    await finish(hass)
    assert results == []
    assert not compreface.requests_to(RECOGNIZE)


async def test_option_off_then_on_without_reload(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """Off (the default): not subscribed, snapshots unused; turned on: used at once."""
    entry = await setup(hass, frigate, compreface, enabled=False)
    frigate.add_event(EVENT_ID)
    results = async_capture_events(hass, EVENT_RESULT)
    await start_event(hass)
    async_fire_mqtt_message(hass, SNAPSHOT_TOPIC, face_world.image(ALICE))
    await finish(hass)
    assert results[0].data["matches"] == []
    assert not entry.runtime_data.snapshots.subscribed

    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "mqtt_snapshots": True}
    )
    await hass.async_block_till_done()
    assert entry.runtime_data.snapshots.subscribed
    await start_event(hass)
    async_fire_mqtt_message(hass, SNAPSHOT_TOPIC, face_world.image(ALICE))
    await finish(hass)
    assert results[1].data["matches"][0]["type"] == "mqtt"

    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "mqtt_snapshots": False}
    )
    await hass.async_block_till_done()
    assert not entry.runtime_data.snapshots.subscribed
