"""The order of a result's side effects (issue 15).

MQTT first, with the paths the images are saved at; then the images are written; then
the entities and bus events, which may open them. A slow broker does not hold the
entities and bus events back.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import EVENT_MATCH
from custom_components.double_take.storage import MediaStore
from homeassistant.core import Event, HomeAssistant, callback

from .common import ALICE, EVENT_ID, event_message, fire, setup_frigate_entry
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceWorld

MATCH_TOPIC = "double-take/matches/alice"


def match_payloads(mqtt: MqttMockHAClient) -> list[str]:
    """Payloads published on alice's match topic so far."""
    return [
        call.args[1]
        for call in mqtt.async_publish.call_args_list
        if call.args[0] == MATCH_TOPIC
    ]


async def test_mqtt_first_then_images_then_bus_events(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """The MQTT payload names the image before it is written; bus events find it."""
    await setup_frigate_entry(hass, frigate, compreface)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    root = Path(hass.config.path("double_take"))
    published_before_write: list[int] = []
    write_images = MediaStore.write_images

    def recording_write(store: MediaStore, files: dict[str, bytes]) -> set[str]:
        published_before_write.append(len(match_payloads(mqtt)))
        return write_images(store, files)

    on_disk: list[bool] = []

    @callback
    def match(event: Event[dict[str, Any]]) -> None:
        on_disk.append((root / event.data["image"]).is_file())

    unsubscribe = hass.bus.async_listen(EVENT_MATCH, match)
    with patch.object(MediaStore, "write_images", recording_write):
        await fire(hass, event_message())
    unsubscribe()

    assert published_before_write == [1]
    assert on_disk == [True]
    (payload,) = match_payloads(mqtt)
    image = json.loads(payload)["match"]["image"]
    assert (root / image).is_file()
    state = hass.states.get("sensor.double_take_alice")
    assert state is not None
    assert state.attributes["image"] == image


async def test_slow_broker_does_not_hold_entities_back(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """MQTT publishes that do not complete: the entities and bus events come anyway."""
    await setup_frigate_entry(hass, frigate, compreface)
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    matches = async_capture_events(hass, EVENT_MATCH)
    broker = asyncio.Event()

    async def stuck_publish(*args: Any, **kwargs: Any) -> None:
        await broker.wait()

    with patch(
        "custom_components.double_take.publish.mqtt.async_publish", stuck_publish
    ):
        async_fire_mqtt_message(hass, "frigate/events", event_message())
        async with asyncio.timeout(10):
            while not matches:
                await asyncio.sleep(0.01)
        state = hass.states.get("sensor.double_take_alice")
        assert state is not None
        assert state.state == "front_door"
        broker.set()
        await hass.async_block_till_done(wait_background_tasks=True)
