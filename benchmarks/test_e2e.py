"""``scripts/bench --e2e``: Frigate event on the broker → ``double-take/matches/NAME`` on it.

What a user's automation sees: a publisher (Frigate) and a subscriber (Node-RED, an MQTT
automation) on a real Mosquitto, Home Assistant with its MQTT integration connected to
the same broker, the emulators in a child process. See ``e2e.py`` for the clients and
the stamps of each stage.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
import contextlib
import functools
import os
from pathlib import Path
import time

import pytest
from tests.common import event_message
from tests.emulators.compreface import COMPREFACE_KEY
from tests.mosquitto import (
    NOT_INSTALLED,
    MosquittoBroker,
    mosquitto_binary,
    mqtt_broker_entry,
)

from homeassistant.components import mqtt as mqtt_component
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback

from .e2e import Driver, Stamps, Subscriber, Timeline, bare_client_runs
from .harness import (
    CAMERAS,
    ENV_DELAYS,
    ENV_OUTPUT,
    EmulatorProcess,
    Emulators,
    percentile,
    record,
)
from .test_bench import TOPIC, event_id, set_up

ENV_E2E = "DOUBLE_TAKE_BENCH_E2E"
MATCHES = "double-take/matches/alice"
E2E_WARMUP = 10
E2E_SEQUENTIAL = 100
E2E_BURST = 200
E2E_TIMEOUT = 60
SLOW_FRIGATE_MS = 20
SLOW_DETECTOR_MS = 300
SLOW_EVENTS = 20

pytestmark = [
    pytest.mark.skipif(
        ENV_OUTPUT not in os.environ, reason="run the benchmarks with scripts/bench"
    ),
    pytest.mark.skipif(ENV_E2E not in os.environ, reason="scripts/bench --e2e"),
]


def latency_figures(latencies: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in ms."""
    return {
        "p50": percentile(latencies, 0.5) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "max": max(latencies) * 1000,
    }


async def test_end_to_end_through_mosquitto(
    hass: HomeAssistant,
    mock_hass_config: None,
    emulators: Emulators,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sequential events and a burst, timed on the broker by another client."""
    timeline = Timeline()
    timeline.install(monkeypatch)
    async with _through_mosquitto(hass, emulators, tmp_path) as (
        publisher,
        subscriber,
        drivers,
    ):
        await _sequential(
            hass, emulators, publisher, subscriber, timeline=timeline, drivers=drivers
        )
        bare = await bare_client_runs(
            emulators.frigate_url,
            emulators.compreface_url,
            COMPREFACE_KEY,
            CAMERAS[0],
            E2E_SEQUENTIAL,
        )
        record("e2e_bare_http", percentile(bare, 0.5) * 1000, runs=len(bare))
        await _burst(hass, publisher, subscriber)


async def test_end_to_end_default_broker(
    hass: HomeAssistant,
    mock_hass_config: None,
    emulators: Emulators,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sequential events through a broker as Mosquitto ships (Nagle on its sockets)."""
    timeline = Timeline()
    timeline.install(monkeypatch)
    async with _through_mosquitto(hass, emulators, tmp_path, tcp_nodelay=False) as (
        publisher,
        subscriber,
        drivers,
    ):
        await _sequential(
            hass,
            emulators,
            publisher,
            subscriber,
            timeline=timeline,
            drivers=drivers,
            suffix="_default_broker",
        )


async def test_end_to_end_slow_servers(
    hass: HomeAssistant,
    mock_hass_config: None,
    socket_enabled: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Frigate answering in 20 ms and the detector in 300 ms: the floor is 320 ms."""
    monkeypatch.setenv(ENV_DELAYS, f"{SLOW_FRIGATE_MS},{SLOW_DETECTOR_MS}")
    emulators = EmulatorProcess()
    await emulators.start()
    try:
        async with _through_mosquitto(hass, emulators, tmp_path) as (
            publisher,
            subscriber,
            _,
        ):
            latencies = []
            for number in range(SLOW_EVENTS + 1):  # the first one warms up
                event = event_id("e2eslow", number)
                count = len(subscriber.received)
                published = time.perf_counter()
                publisher.client.publish(
                    TOPIC, event_message("new", event, camera=CAMERAS[0]), qos=0
                )
                assert await subscriber.wait_for(count + 1, E2E_TIMEOUT), event
                received, got = subscriber.received[count]
                assert got == event, (got, event)
                await hass.async_block_till_done(wait_background_tasks=True)
                if number:
                    latencies.append(received - published)
        bare = await bare_client_runs(
            emulators.frigate_url,
            emulators.compreface_url,
            COMPREFACE_KEY,
            CAMERAS[0],
            SLOW_EVENTS,
        )
    finally:
        await emulators.stop()
    record(
        "e2e_slow",
        percentile(latencies, 0.5) * 1000,
        events=len(latencies),
        floor=SLOW_FRIGATE_MS + SLOW_DETECTOR_MS,
        frigate=SLOW_FRIGATE_MS,
        detector=SLOW_DETECTOR_MS,
        bare_p50=percentile(bare, 0.5) * 1000,
        **latency_figures(latencies),
    )


@contextlib.asynccontextmanager
async def _through_mosquitto(
    hass: HomeAssistant,
    emulators: Emulators,
    tmp_path: Path,
    *,
    tcp_nodelay: bool = True,
) -> AsyncIterator[tuple[Driver, Subscriber, list[Driver]]]:
    """Mosquitto, HA's MQTT client and Double Take on it, a publisher, a subscriber.

    The broker has ``set_tcp_nodelay true`` (the README's advice) unless told otherwise.
    """
    binary = mosquitto_binary()
    assert binary is not None, NOT_INSTALLED
    broker = await hass.async_add_executor_job(
        functools.partial(
            MosquittoBroker.start,
            binary,
            tmp_path / "mosquitto",
            tcp_nodelay=tcp_nodelay,
        )
    )
    mqtt_entry = mqtt_broker_entry(broker)
    drivers: list[Driver] = []
    try:
        mqtt_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
        assert await mqtt_component.async_wait_for_mqtt_client(hass)
        await set_up(hass, emulators)
        subscriber = await hass.async_add_executor_job(
            Subscriber, hass.loop, broker.host, broker.port, MATCHES
        )
        drivers.append(subscriber)
        publisher = await hass.async_add_executor_job(
            Driver, "publisher", broker.host, broker.port
        )
        drivers.append(publisher)
        await _wait_subscribed(hass, publisher)
        yield publisher, subscriber, drivers
    finally:
        for driver in drivers:
            await hass.async_add_executor_job(driver.stop)
        for loaded in (*hass.config_entries.async_entries("double_take"), mqtt_entry):
            if loaded.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(loaded.entry_id)
        await hass.async_block_till_done()
        await hass.async_add_executor_job(broker.stop)


async def _wait_subscribed(hass: HomeAssistant, publisher: Driver) -> None:
    """Until HA's subscriptions reach the broker, it drops what we publish."""
    received = asyncio.Event()

    @callback
    def probe(message: ReceiveMessage) -> None:
        received.set()

    unsubscribe = await mqtt_component.async_subscribe(hass, TOPIC, probe)
    async with asyncio.timeout(E2E_TIMEOUT):
        while not received.is_set():
            publisher.client.publish(TOPIC, "probe", qos=0)
            try:
                async with asyncio.timeout(0.2):
                    await received.wait()
            except TimeoutError:
                continue
    unsubscribe()


async def _sequential(
    hass: HomeAssistant,
    emulators: Emulators,
    publisher: Driver,
    subscriber: Subscriber,
    *,
    timeline: Timeline,
    drivers: list[Driver],
    suffix: str = "",
) -> None:
    """One event after another; each waits for the previous run to finish.

    ``suffix`` is appended to the keys of the figures recorded.
    """
    latencies: list[float] = []
    cpu = driver_cpu = loop_cpu = 0.0
    requests = 0
    for number in range(E2E_WARMUP + E2E_SEQUENTIAL):
        if number == E2E_WARMUP:
            requests = emulators.requests()
            cpu, loop_cpu = time.process_time(), time.thread_time()
            driver_cpu = sum(driver.cpu_time() for driver in drivers)
        event = event_id("e2e", number)
        payload = event_message("new", event, camera=CAMERAS[0])
        stamps = Stamps(event=event)
        timeline.current = stamps
        count = len(subscriber.received)
        stamps.published = time.perf_counter()
        publisher.client.publish(TOPIC, payload, qos=0)
        assert await subscriber.wait_for(count + 1, E2E_TIMEOUT), f"lost {event}"
        received, got = subscriber.received[count]
        assert got == event, (got, event)
        # The run's tail (history, camera image) ends before the next event.
        await hass.async_block_till_done(wait_background_tasks=True)
        timeline.current = None
        if number >= E2E_WARMUP:
            latencies.append(received - stamps.published)
            timeline.done.append(stamps)
    cpu = time.process_time() - cpu
    loop_cpu = time.thread_time() - loop_cpu
    cpu -= sum(driver.cpu_time() for driver in drivers) - driver_cpu
    requests = emulators.requests() - requests
    receipts = {event: at for at, event in subscriber.received}
    record(
        f"e2e_sequential{suffix}",
        percentile(latencies, 0.5) * 1000,
        events=len(latencies),
        **latency_figures(latencies),
    )
    record(
        f"e2e_cpu_per_event{suffix}",
        cpu / E2E_SEQUENTIAL * 1000,
        loop=loop_cpu / E2E_SEQUENTIAL * 1000,
        requests=requests / E2E_SEQUENTIAL,
    )
    stages = timeline.breakdown(receipts)
    record(
        f"e2e_stages{suffix}",
        0,
        stages={
            stage: {
                "p50": percentile(values, 0.5),
                "p95": percentile(values, 0.95),
                "max": max(values),
            }
            for stage, values in stages.items()
        },
    )


async def _burst(
    hass: HomeAssistant, publisher: Driver, subscriber: Subscriber
) -> None:
    """E2E_BURST events over 10 cameras published at once."""
    already = len(subscriber.received)
    events = [event_id("e2eburst", number) for number in range(E2E_BURST)]
    published: dict[str, float] = {}
    start = time.perf_counter()
    for number, event in enumerate(events):
        payload = event_message("new", event, camera=CAMERAS[number % len(CAMERAS)])
        published[event] = time.perf_counter()
        publisher.client.publish(TOPIC, payload, qos=0)
    await subscriber.wait_for(already + E2E_BURST, E2E_TIMEOUT)
    await hass.async_block_till_done(wait_background_tasks=True)
    await asyncio.sleep(0.5)  # a duplicate would come late
    burst = subscriber.received[already:]
    runs = Counter(event for _, event in burst)
    first: dict[str, float] = {}
    for at, event in burst:
        first.setdefault(event, at)
    latencies = [first[event] - published[event] for event in events if event in first]
    last = max(first.values()) if first else start
    record(
        "e2e_burst",
        len(first) / (last - start) if first else 0.0,
        events=E2E_BURST,
        wall=last - start,
        lost=sum(1 for event in events if event not in first),
        duplicates=sum(count - 1 for count in runs.values()),
        **latency_figures(latencies or [0.0]),
    )
