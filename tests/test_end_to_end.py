"""End to end through a real Mosquitto broker and Home Assistant's real MQTT client.

A Frigate event published on the broker by an independent client goes through HA's MQTT
integration (no ``mqtt_mock``), Double Take, the Frigate and CompreFace emulators, and comes
back on the broker as ``double-take/matches/<name>`` and ``double-take/cameras/<camera>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import json
import os
from pathlib import Path
import socket

import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.double_take.const import DOMAIN, EVENT_MATCH
from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.components.mqtt.const import MQTT_CONNECTION_STATE
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .common import ALICE, event_message, setup_detectors
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .emulators.world import FaceWorld
from .mosquitto import (
    NOT_INSTALLED,
    MosquittoBroker,
    MqttSpy,
    mosquitto_binary,
    mqtt_broker_entry,
)

pytestmark = pytest.mark.mosquitto

EVENT_ID = "1760011300.118811-e2e0mq"
FAST = {"attempt_delay": 0.01, "snapshot_attempts": 2, "latest_attempts": 2}
EVENTS_TOPIC = "frigate/events"
MATCH_TOPIC = "double-take/matches/alice"
CAMERA_TOPIC = "double-take/cameras/front_door"
PERSON_TOPIC = "double-take/cameras/front_door/person"
AVAILABLE_TOPIC = "double-take/available"
ERRORS_TOPIC = "double-take/errors"
# Bound for every wait on the broker; a pass takes well under a second.
TIMEOUT = 10


@pytest.fixture
def mosquitto(socket_enabled: None, tmp_path: Path) -> Iterator[MosquittoBroker]:
    """Run a Mosquitto broker on a free port of 127.0.0.1 for one test."""
    binary = mosquitto_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"{NOT_INSTALLED}: the end-to-end test must run in CI")
        pytest.skip(NOT_INSTALLED)
    broker = MosquittoBroker.start(binary, tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant, config_dir: Path, mosquitto: MosquittoBroker
) -> AsyncIterator[MockConfigEntry]:
    """HA's real MQTT integration connected to the broker; unloaded (with Double Take) at the end."""
    # HA's MQTT set-up reads configuration.yaml; conftest's config_dir is this test's own.
    assert hass.config.config_dir == str(config_dir)
    (config_dir / "configuration.yaml").write_text("", encoding="utf-8")
    entry = mqtt_broker_entry(mosquitto)
    entry.add_to_hass(hass)
    connected = hass.loop.create_future()

    @callback
    def _connection(state: bool) -> None:
        if state and not connected.done():
            connected.set_result(None)

    unsubscribe = mqtt.async_subscribe_connection_status(hass, _connection)
    try:
        assert await hass.config_entries.async_setup(entry.entry_id)
        assert await mqtt.async_wait_for_mqtt_client(hass)
        async with asyncio.timeout(TIMEOUT):
            await connected
    finally:
        unsubscribe()
    try:
        yield entry
    finally:
        # Double Take first (it unsubscribes), then MQTT: its unload waits for pending
        # ACKs and disconnects the paho client, which cancels MQTT's timers.
        for other in hass.config_entries.async_entries(DOMAIN):
            if other.state is ConfigEntryState.LOADED:
                assert await hass.config_entries.async_unload(other.entry_id)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def spy(
    hass: HomeAssistant, mosquitto: MosquittoBroker
) -> AsyncIterator[MqttSpy]:
    """Connect an MQTT client of our own to the broker, subscribed to ``double-take/#``."""
    client = MqttSpy(hass.loop, mosquitto.host, mosquitto.port)
    try:
        await client.async_connect(TIMEOUT)
        await client.async_subscribe("double-take/#", TIMEOUT)
        yield client
    finally:
        client.stop()


class HaReceiver:
    """A subscription of HA to Frigate's events topic, next to Double Take's own.

    HA passes a message to all of a topic's subscriptions in the same loop iteration, so
    once this one has seen a message Double Take's handler has seen it too. ``on_message``
    must stay a ``@callback``: HA would otherwise run it in its executor, where setting the
    asyncio event is not thread-safe and the test's waits can hang instead of timing out.
    """

    def __init__(self) -> None:
        """Start with nothing received."""
        self.payloads: list[str] = []
        self._new = asyncio.Event()

    @callback
    def on_message(self, message: ReceiveMessage) -> None:
        """Record a message (a callback: HA calls it in the event loop)."""
        self.payloads.append(str(message.payload))
        self._new.set()

    async def async_wait_for(
        self, payload: str, count: int = 1, timeout: float = TIMEOUT
    ) -> None:
        """Wait until ``payload`` was received ``count`` times in all."""
        async with asyncio.timeout(timeout):
            while self.payloads.count(payload) < count:
                self._new.clear()
                await self._new.wait()


async def wait_until_subscribed(
    spy: MqttSpy, receiver: HaReceiver, timeout: float = TIMEOUT
) -> None:
    """Publish probes on Frigate's topic until HA receives one.

    HA sends its SUBSCRIBE after a short debounce following the set-up; until then the
    broker drops messages on the topic. A probe is not an event: Double Take ignores it.
    """
    async with asyncio.timeout(timeout):
        attempt = 0
        while not receiver.payloads:
            attempt += 1
            await spy.async_publish(EVENTS_TOPIC, f"probe {attempt}")
            try:
                async with asyncio.timeout(0.2):
                    await receiver.async_wait_for(f"probe {attempt}")
            except TimeoutError:
                continue


async def test_frigate_event_to_match_through_mosquitto(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    spy: MqttSpy,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """Frigate event on the broker → alice matched → bus event and topics on the broker."""
    compreface.subjects["alice"] = ["alice"]
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    entry = await setup_detectors(
        hass, compreface, frigate_url=frigate.url, options=FAST
    )
    assert entry.state is ConfigEntryState.LOADED
    matches = async_capture_events(hass, EVENT_MATCH)
    receiver = HaReceiver()
    unsubscribe = await mqtt.async_subscribe(hass, EVENTS_TOPIC, receiver.on_message)
    try:
        await wait_until_subscribed(spy, receiver)

        # The event, as Frigate publishes it on the broker.
        new = event_message("new", event_id=EVENT_ID)
        await spy.async_publish(EVENTS_TOPIC, new)
        (person,) = await spy.async_wait_for(MATCH_TOPIC, timeout=TIMEOUT)
        (camera,) = await spy.async_wait_for(CAMERA_TOPIC, timeout=TIMEOUT)
        await hass.async_block_till_done(wait_background_tasks=True)

        # The spy subscribed with "retain as published": these are the publisher's flags.
        assert not person.retain
        assert not camera.retain
        payload = json.loads(person.payload)
        assert payload["id"] == EVENT_ID
        assert payload["camera"] == "front_door"
        assert payload["match"]["name"] == "alice"
        assert payload["match"]["confidence"] == 95.0
        assert "matches" not in payload
        result = json.loads(camera.payload)
        assert result["id"] == EVENT_ID
        assert [hit["name"] for hit in result["matches"]] == ["alice"]
        assert spy.on_topic("double-take/matches/unknown") == []

        (match,) = matches
        assert match.data["name"] == "alice"
        assert match.data["camera"] == "front_door"
        assert match.data["event_id"] == EVENT_ID

        # The same event again: matched events are not run again.
        requests = len(frigate.requests)
        update = event_message("update", event_id=EVENT_ID)
        await spy.async_publish(EVENTS_TOPIC, update)
        await receiver.async_wait_for(update)
        await hass.async_block_till_done(wait_background_tasks=True)
        # Anything HA published before this marker reached the spy before it.
        await mqtt.async_publish(hass, "double-take/test/marker", "end")
        await spy.async_wait_for("double-take/test/marker", timeout=TIMEOUT)
        assert len(spy.on_topic(MATCH_TOPIC)) == 1
        assert len(spy.on_topic(CAMERA_TOPIC)) == 1
        assert len(matches) == 1
        assert len(frigate.requests) == requests
    finally:
        unsubscribe()


async def test_results_leave_without_nagle(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """TCP_NODELAY on HA's MQTT socket once Double Take is set up, again on reconnection."""
    await setup_detectors(hass, compreface, frigate_url=frigate.url, options=FAST)
    paho = hass.data["mqtt"].client._mqttc  # noqa: SLF001 (what the integration tunes)
    sock = paho.socket()
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    # A reconnection makes a new socket; Double Take hears of it from MQTT's signal.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
    async_dispatcher_send(hass, MQTT_CONNECTION_STATE, True)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


async def test_status_topics_through_mosquitto(
    hass: HomeAssistant,
    mqtt_entry: MockConfigEntry,
    spy: MqttSpy,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
    face_world: FaceWorld,
) -> None:
    """The original's other topics: available, the person count, errors, then offline."""
    compreface.subjects["alice"] = ["alice"]
    frigate.set_snapshot(EVENT_ID, [face_world.image(ALICE)])
    entry = await setup_detectors(
        hass, compreface, frigate_url=frigate.url, options=FAST
    )
    (online,) = await spy.async_wait_for(AVAILABLE_TOPIC, timeout=TIMEOUT)
    assert (online.payload, online.retain) == (b"online", True)
    receiver = HaReceiver()
    unsubscribe = await mqtt.async_subscribe(hass, EVENTS_TOPIC, receiver.on_message)
    try:
        await wait_until_subscribed(spy, receiver)

        await spy.async_publish(EVENTS_TOPIC, event_message(event_id=EVENT_ID))
        (count,) = await spy.async_wait_for(PERSON_TOPIC, timeout=TIMEOUT)
        assert (count.payload, count.retain) == (b"1", True)
        (camera,) = spy.on_topic(CAMERA_TOPIC)
        result = json.loads(camera.payload)
        assert result["personCount"] == 1
        assert result["timestamp"] == result["time"]
        assert result["matches"][0]["filename"].endswith(".jpg")

        # CompreFace failing: one message on errors, not retained.
        compreface.fail_next(500, {"message": "out of memory"}, count=10)
        failing = "1760011301.204417-e2e0mr"
        frigate.set_snapshot(failing, [face_world.image(ALICE)])
        await spy.async_publish(EVENTS_TOPIC, event_message(event_id=failing))
        (error,) = await spy.async_wait_for(ERRORS_TOPIC, timeout=TIMEOUT)
        assert not error.retain
        assert json.loads(error.payload)["source"] == "detector"
        await hass.async_block_till_done(wait_background_tasks=True)
        compreface.clear_failures()
    finally:
        unsubscribe()

    # Unloaded: offline, and the count no longer claims a person (both retained).
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    _, offline = await spy.async_wait_for(AVAILABLE_TOPIC, count=2, timeout=TIMEOUT)
    assert (offline.payload, offline.retain) == (b"offline", True)
    reset = spy.on_topic(PERSON_TOPIC)[-1]
    assert (reset.payload, reset.retain) == (b"0", True)
