"""End to end through Mosquitto: a Frigate-like publisher, a subscriber like an automation.

Used by ``test_end_to_end_through_mosquitto`` (``scripts/bench --e2e``). Both clients are
paho clients in their own network threads with ``TCP_NODELAY`` set: they are the
measuring instruments, so the only sockets left as they are in the field are Home
Assistant's and Mosquitto's. The subscriber stamps each ``double-take/matches/NAME``
message in its network thread with ``time.perf_counter`` (the clock every stamp uses).

``Timeline`` stamps the stages of the one event in flight of the sequential part by
wrapping the integration's classes (MQTT in, Frigate fetches, detector calls, side effects,
MQTT out) and Home Assistant's MQTT socket writer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import functools
import os
import socket
import threading
import time
from typing import Any

import aiohttp
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
import pytest

from custom_components.double_take import intake as intake_module, publish
from custom_components.double_take.api.frigate import FrigateClient
from custom_components.double_take.pipeline import DetectorHandle, Recognizer
from homeassistant.components.mqtt.client import MQTT

from .harness import RECOGNIZE_PATH


class Driver:
    """A paho client of its own (network thread, ``TCP_NODELAY``)."""

    def __init__(self, name: str, host: str, port: int) -> None:
        """Connect to ``host:port`` and start the network thread."""
        self.connected = threading.Event()
        self.client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"double-take-bench-{name}-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_connect = lambda *_: self.connected.set()
        self.client.connect(host, port, keepalive=30)
        sock = self.client.socket()
        assert isinstance(sock, socket.socket)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise TimeoutError(f"{name} did not connect")

    def cpu_time(self) -> float:
        """CPU seconds of the network thread (counted out of Home Assistant's)."""
        thread = self.client._thread  # noqa: SLF001 (paho's network thread)
        assert thread is not None
        assert thread.ident is not None
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


class Subscriber(Driver):
    """Stamps every message on ``topic`` with its event id, in the network thread."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, host: str, port: int, topic: str
    ) -> None:
        """Connect and subscribe (QoS 0, like a typical automation)."""
        super().__init__("subscriber", host, port)
        self.received: list[tuple[float, str]] = []
        self._loop = loop
        self._new_message = asyncio.Event()
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.subscribe(topic, qos=0)
        if not subscribed.wait(10):
            raise TimeoutError("no SUBACK")

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        now = time.perf_counter()
        # "id": the Frigate event id, first key of every result payload.
        payload = message.payload
        start = payload.index(b'"id":"') + 6
        event = payload[start : payload.index(b'"', start)].decode()
        self.received.append((now, event))
        self._loop.call_soon_threadsafe(self._new_message.set)

    async def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` messages arrived; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                while len(self.received) < count:
                    self._new_message.clear()
                    await self._new_message.wait()
        except TimeoutError:
            return False
        return True


def union(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by ``intervals`` (concurrent loops overlap)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


@dataclass
class Stamps:
    """What happened to the one event in flight, in ``perf_counter`` seconds."""

    event: str
    published: float = 0.0
    received_by_ha: float = 0.0
    run_start: float = 0.0
    run_end: float = 0.0
    frigate: list[tuple[float, float]] = field(default_factory=list)
    detector: list[tuple[float, float]] = field(default_factory=list)
    side_effects_start: float = 0.0
    mqtt_call: float = 0.0
    socket_write: float = 0.0
    side_effects_end: float = 0.0


class Timeline:
    """Stamps of the sequential events; ``current`` is the event in flight (or None)."""

    def __init__(self) -> None:
        """No event in flight yet."""
        self.current: Stamps | None = None
        self.done: list[Stamps] = []

    def now(self, name: str) -> None:
        """Stamp ``name`` on the event in flight, once."""
        if self.current is not None and not getattr(self.current, name):
            setattr(self.current, name, time.perf_counter())

    @contextlib.contextmanager
    def interval(self, name: str) -> Iterator[None]:
        """Add the time inside the block to the list ``name`` of the event in flight."""
        stamps, start = self.current, time.perf_counter()
        try:
            yield
        finally:
            if stamps is not None:
                getattr(stamps, name).append((start, time.perf_counter()))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Wrap the stages (before the MQTT client and the entry are set up)."""

        def wrap_sync(owner: Any, attribute: str, stamp: str) -> None:
            original = getattr(owner, attribute)

            @functools.wraps(original)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                self.now(stamp)
                return original(*args, **kwargs)

            monkeypatch.setattr(owner, attribute, wrapper)

        def wrap_async(
            owner: Any,
            attribute: str,
            *,
            start: str | None = None,
            end: str | None = None,
            interval: str | None = None,
        ) -> None:
            original: Callable[..., Awaitable[Any]] = getattr(owner, attribute)

            @functools.wraps(original)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                if start:
                    self.now(start)
                if interval:
                    with self.interval(interval):
                        return await original(*args, **kwargs)
                try:
                    return await original(*args, **kwargs)
                finally:
                    if end:
                        self.now(end)

            monkeypatch.setattr(owner, attribute, wrapper)

        wrap_sync(intake_module.EventIntake, "_handle_message", "received_by_ha")
        wrap_async(Recognizer, "recognize", start="run_start", end="run_end")
        wrap_async(FrigateClient, "snapshot", interval="frigate")
        wrap_async(FrigateClient, "latest", interval="frigate")
        wrap_async(DetectorHandle, "analyze", interval="detector")
        wrap_async(
            publish.ResultPublisher,
            "async_publish",
            start="side_effects_start",
            end="side_effects_end",
        )
        wrap_async(publish, "publish_mqtt", start="mqtt_call")
        # The writer callback paho's queued packets leave through (HA's MQTT client).
        original_writer = MQTT._async_writer_callback  # noqa: SLF001

        def writer(client_self: MQTT, client: Any) -> None:
            stamps = self.current
            if stamps is not None and stamps.mqtt_call and not stamps.socket_write:
                stamps.socket_write = time.perf_counter()
            original_writer(client_self, client)

        monkeypatch.setattr(MQTT, "_async_writer_callback", writer)

    def breakdown(self, received: dict[str, float]) -> dict[str, list[float]]:
        """Per stage, the milliseconds of each event (``received``: id → receipt)."""
        stages: dict[str, list[float]] = {}

        def add(stage: str, seconds: float) -> None:
            stages.setdefault(stage, []).append(seconds * 1000)

        for s in self.done:
            end = received[s.event]
            run = s.run_end - s.run_start
            fetches, detector = union(s.frigate), union(s.detector)
            add("mqtt_in", s.received_by_ha - s.published)
            add("queue", s.run_start - s.received_by_ha)
            add("frigate", fetches)
            add("detector", detector)
            add("recognition_other", run - union(s.frigate + s.detector))
            add("side_effects_before_mqtt", s.mqtt_call - s.run_end)
            add("ha_to_socket", s.socket_write - s.mqtt_call)
            add("socket_to_subscriber", end - s.socket_write)
            add("side_effects_after_mqtt", s.side_effects_end - s.mqtt_call)
            add("total", end - s.published)
        return stages


async def bare_client_runs(
    frigate_url: str, compreface_url: str, api_key: str, camera: str, runs: int
) -> list[float]:
    """Seconds per run of a bare aiohttp client making a run's four requests.

    Snapshot and latest at once, then both images to CompreFace at once, as a run does,
    one run right after the other: the HTTP floor of the machine and the emulators,
    without Home Assistant, MQTT or the integration.
    """
    durations: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def get(url: str) -> bytes:
            async with session.get(url) as response:
                return await response.read()

        async def recognize(image: bytes) -> bytes:
            form = aiohttp.FormData()
            form.add_field(
                "file", image, filename="image.jpg", content_type="image/jpeg"
            )
            payload = form()
            async with session.post(
                f"{compreface_url}{RECOGNIZE_PATH}",
                data=await payload.as_bytes(),
                headers={"x-api-key": api_key, "Content-Type": payload.content_type},
            ) as response:
                return await response.read()

        for number in range(runs + 1):  # the first one opens the connections
            start = time.perf_counter()
            images = await asyncio.gather(
                get(f"{frigate_url}/api/events/1760011207.{number}-bare/snapshot.jpg"),
                get(f"{frigate_url}/api/{camera}/latest.jpg"),
            )
            await asyncio.gather(*(recognize(image) for image in images))
            if number:
                durations.append(time.perf_counter() - start)
    return durations
