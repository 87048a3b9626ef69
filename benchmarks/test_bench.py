"""The figures of ``scripts/bench`` (SPEC §9), measured in Home Assistant's test harness.

Every scenario uses the integration's default options and one CompreFace detector that
knows alice; each Frigate event's first snapshot shows her (a "first-image match"), the
camera's latest frame shows nobody. Frigate and CompreFace are the emulators of
``tests/emulators/``, answering at once from their own thread (see ``harness.py``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Generator, Iterable
import contextlib
from functools import partial
import gc
import itertools
import os
from pathlib import Path
import shutil
import threading
import time
from typing import Any, cast

from paho.mqtt.client import MQTTMessage
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    MqttMockPahoClient,
    WebSocketGenerator,
)
from tests.common import detector_subentry, event_message, make_entry, setup_entry
from tests.emulators.compreface import COMPREFACE_KEY
from tests.mosquitto import (
    NOT_INSTALLED,
    MosquittoBroker,
    MqttSpy,
    mosquitto_binary,
    mqtt_broker_entry,
)

from custom_components.double_take.const import EVENT_RESULT
from custom_components.double_take.history import NewRecord
from homeassistant.components import mqtt as mqtt_component
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.components.mqtt.client import MAX_PACKETS_TO_READ
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from .harness import (
    CAMERAS,
    ENV_BROKER,
    ENV_OUTPUT,
    CallCounter,
    Emulators,
    IterationCounter,
    LoopLagProbe,
    percentile,
    record,
    rss_mb,
)

pytestmark = pytest.mark.skipif(
    ENV_OUTPUT not in os.environ, reason="run the benchmarks with scripts/bench"
)

TOPIC = "frigate/events"
PERSON_SENSOR = "sensor.double_take_alice"
SEQUENTIAL_WARMUP = 30
SEQUENTIAL_EVENTS = 300
CALLS_EVENTS = 50
BURST_EVENTS = 500
MEMORY_WARMUP = 1_000
MEMORY_EVENTS = 10_000
MEMORY_BATCH = 250
MEMORY_PARTS = 4
BROKER_WARMUP = 20
REQUIRE_FACE_EVENTS = 100
BROKER_EVENTS = 200
RESULT_TIMEOUT = 120


def event_id(prefix: str, number: int) -> str:
    """Return a Frigate-like event id, distinct per number."""
    return f"{1760011207 + number}.412398-{prefix}{number:05d}"


async def set_up(hass: HomeAssistant, emulators: Emulators) -> MockConfigEntry:
    """One entry on the Frigate emulator with the CompreFace emulator, default options."""
    return await setup_entry(
        hass,
        make_entry(
            frigate_url=emulators.frigate_url,
            detectors=[
                detector_subentry(
                    "compreface", emulators.compreface_url, api_key=COMPREFACE_KEY
                )
            ],
        ),
    )


class ResultCounter:
    """Counts ``double_take_result`` events per event id; wakes waiters at a total."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Listen to results."""
        self.runs: Counter[str] = Counter()
        self._wanted = 0
        self._reached = asyncio.Event()
        self.unsubscribe = hass.bus.async_listen(EVENT_RESULT, self._result)

    @callback
    def _result(self, event: Event) -> None:
        self.runs[event.data["id"]] += 1
        if self.total >= self._wanted:
            self._reached.set()

    @property
    def total(self) -> int:
        """Runs finished so far."""
        return sum(self.runs.values())

    async def wait_for(self, total: int, timeout: float = RESULT_TIMEOUT) -> None:
        """Wait until ``total`` runs have finished."""
        self._wanted = total
        self._reached.clear()
        if self.total >= total:
            return
        async with asyncio.timeout(timeout):
            await self._reached.wait()


@callback
def fire_mqtt_message(hass: HomeAssistant, payload: str) -> None:
    """``async_fire_mqtt_message`` without its per-message Mock (harness garbage).

    Hands paho's message to HA's MQTT client exactly as paho's ``on_message`` does.
    """
    message = MQTTMessage(topic=TOPIC.encode())
    message.payload = payload.encode()
    message.timestamp = time.monotonic()
    hass.data["mqtt"].client._async_mqtt_on_message(None, None, message)  # noqa: SLF001


async def fire_like_mqtt(hass: HomeAssistant, payloads: Iterable[str]) -> None:
    """Deliver messages as HA's MQTT client does: up to 500 per loop iteration."""
    batch: list[str] = []
    for payload in payloads:
        batch.append(payload)
        if len(batch) == MAX_PACKETS_TO_READ:
            for message in batch:
                fire_mqtt_message(hass, message)
            batch.clear()
            await asyncio.sleep(0)
    for message in batch:
        fire_mqtt_message(hass, message)


async def test_overhead_per_event(
    hass: HomeAssistant, mqtt: MqttMockPahoClient, emulators: Emulators
) -> None:
    """MQTT message → person sensor state, one event after another; CPU and requests."""
    await set_up(hass, emulators)
    changed: asyncio.Future[float] | None = None

    @callback
    def state_changed(event: Event[EventStateChangedData]) -> None:
        if changed is not None and not changed.done():
            changed.set_result(time.perf_counter())

    unsubscribe = async_track_state_change_event(hass, [PERSON_SENSOR], state_changed)

    async def one_event(number: int) -> float:
        nonlocal changed
        payload = event_message("new", event_id("seq", number), camera=CAMERAS[0])
        changed = hass.loop.create_future()
        start = time.perf_counter()
        fire_mqtt_message(hass, payload)
        async with asyncio.timeout(RESULT_TIMEOUT):
            end = await changed
        # Let the run's tail (camera image) finish so events do not overlap.
        await hass.async_block_till_done(wait_background_tasks=True)
        return end - start

    for number in range(SEQUENTIAL_WARMUP):
        await one_event(number)
    requests = emulators.requests()
    cpu, emulator_cpu = time.process_time(), emulators.cpu_time()
    loop_cpu = time.thread_time()
    with IterationCounter(hass.loop) as iterations:
        latencies = [
            await one_event(number)
            for number in range(
                SEQUENTIAL_WARMUP, SEQUENTIAL_WARMUP + SEQUENTIAL_EVENTS
            )
        ]
    loop_cpu = time.thread_time() - loop_cpu
    cpu = time.process_time() - cpu - (emulators.cpu_time() - emulator_cpu)
    requests = emulators.requests() - requests
    # Work that does not depend on how busy the machine is: Python calls per event.
    with CallCounter() as calls:
        for number in range(CALLS_EVENTS):
            await one_event(SEQUENTIAL_WARMUP + SEQUENTIAL_EVENTS + number)
    unsubscribe()

    record("overhead_p50", percentile(latencies, 0.5) * 1000, events=len(latencies))
    record("overhead_p99", percentile(latencies, 0.99) * 1000, events=len(latencies))
    record(
        "cpu_per_event",
        cpu / SEQUENTIAL_EVENTS * 1000,
        loop=loop_cpu / SEQUENTIAL_EVENTS * 1000,
        iterations=iterations.count / SEQUENTIAL_EVENTS,
        calls=calls.total / CALLS_EVENTS,
        own_calls=calls.own / CALLS_EVENTS,
    )
    record("requests_per_event", requests / SEQUENTIAL_EVENTS)


async def test_burst(
    hass: HomeAssistant, mqtt: MqttMockPahoClient, emulators: Emulators
) -> None:
    """500 events over 10 cameras at once, each with an ``update`` right behind its ``new``."""
    await set_up(hass, emulators)
    results = ResultCounter(hass)
    ids = [event_id("burst", number) for number in range(BURST_EVENTS)]
    payloads = [
        event_message(kind, event, camera=CAMERAS[number % len(CAMERAS)])
        for number, event in enumerate(ids)
        for kind in ("new", "update")
    ]
    probe = LoopLagProbe()
    probe.start()
    await asyncio.sleep(0.05)  # a few idle samples first
    start = time.perf_counter()
    await fire_like_mqtt(hass, payloads)
    with contextlib.suppress(TimeoutError):  # lost events show in the figures
        await results.wait_for(BURST_EVENTS)
    wall = time.perf_counter() - start
    await probe.stop()
    await hass.async_block_till_done(wait_background_tasks=True)
    results.unsubscribe()

    processed = sum(1 for event in ids if results.runs[event] > 0)
    duplicates = sum(max(0, results.runs[event] - 1) for event in ids)
    record("burst_wall", wall)
    record("burst_rate", BURST_EVENTS / wall)
    record("burst_processed", processed, of=BURST_EVENTS)
    record("burst_lost", BURST_EVENTS - processed)
    record("burst_duplicates", duplicates)
    record("loop_block", probe.worst * 1000, samples=probe.samples)
    record("loop_block_without_gc", probe.worst_without_gc * 1000)
    record("gc_pause", probe.gc.longest * 1000, full=probe.gc.full)


async def test_memory(
    hass: HomeAssistant, mqtt: MqttMockPahoClient, emulators: Emulators
) -> None:
    """RSS after 10,000 more events, in batches over 10 cameras, after a warm-up."""
    entry = await set_up(hass, emulators)
    results = ResultCounter(hass)
    matches = Path(hass.config.path("double_take", "matches"))

    async def run(prefix: str, count: int, tidy: Callable[[], None]) -> None:
        for first in range(0, count, MEMORY_BATCH):
            numbers = range(first, min(count, first + MEMORY_BATCH))
            await fire_like_mqtt(
                hass,
                (
                    event_message(
                        "new",
                        event_id(prefix, number),
                        camera=CAMERAS[number % len(CAMERAS)],
                    )
                    for number in numbers
                ),
            )
            await results.wait_for(results.total + len(numbers))
            await hass.async_block_till_done(wait_background_tasks=True)
            await hass.async_add_executor_job(tidy)

    def tidy() -> None:
        # The harness's own records, not the integration's: the paho mock remembers
        # every call, the emulators every request, the disk every saved match image.
        mqtt.reset_mock()
        emulators.requests()
        results.runs.clear()
        shutil.rmtree(matches / "alice", ignore_errors=True)

    await run("warm", MEMORY_WARMUP, tidy)
    gc.collect()
    rss = [rss_mb()]
    start = time.perf_counter()
    for part in range(MEMORY_PARTS):
        await run(f"m{part}x", MEMORY_EVENTS // MEMORY_PARTS, tidy)
        gc.collect()
        rss.append(rss_mb())
    wall = time.perf_counter() - start
    results.unsubscribe()
    record(
        "memory_growth",
        rss[-1] - rss[0],
        rss=rss[-1],
        steps=[round(after - before, 1) for before, after in itertools.pairwise(rss)],
        tracked_events=len(intake.tracker)
        if (intake := entry.runtime_data.intake)
        else 0,
        events=MEMORY_EVENTS,
    )
    record("memory_rate", MEMORY_EVENTS / wall)


async def test_require_face(
    hass: HomeAssistant, mqtt: MqttMockPahoClient, emulators: Emulators
) -> None:
    """Detector calls per event with ``require_face`` auto and off, half the events faceless.

    Frigate tracks faces on the camera (a Frigate+ model); every other event's
    ``current_attributes`` lists a face. With ``auto`` the faceless events wait for a
    face that never comes: no snapshot, no detector call. With ``off`` every event runs.
    """
    camera = CAMERAS[0]
    emulators.track_faces(camera)
    entry = await set_up(hass, emulators)
    results = ResultCounter(hass)
    face = [{"label": "face", "box": [650, 200, 700, 260], "score": 0.84}]
    figures: dict[str, dict[str, float]] = {}
    for mode in ("auto", "off"):
        hass.config_entries.async_update_entry(
            entry, options={**entry.options, "require_face": mode}
        )
        await hass.async_block_till_done(wait_background_tasks=True)
        calls, runs = emulators.detector_requests(), results.total
        payloads = [
            event_message(
                "new",
                event_id(f"rf{mode}", number),
                camera=camera,
                **({"current_attributes": face} if number % 2 == 0 else {}),
            )
            for number in range(REQUIRE_FACE_EVENTS)
        ]
        # One after another: the count, not the concurrency, is measured here.
        for payload in payloads:
            fire_mqtt_message(hass, payload)
            await hass.async_block_till_done(wait_background_tasks=True)
        figures[mode] = {
            "calls": (emulators.detector_requests() - calls) / REQUIRE_FACE_EVENTS,
            "runs": results.total - runs,
        }
    results.unsubscribe()
    record(
        "require_face_calls",
        figures["auto"]["calls"],
        off=figures["off"]["calls"],
        runs=figures["auto"]["runs"],
        runs_off=figures["off"]["runs"],
        events=REQUIRE_FACE_EVENTS,
    )


@pytest.mark.skipif(ENV_BROKER not in os.environ, reason="scripts/bench --broker")
async def test_overhead_through_mosquitto(
    hass: HomeAssistant,
    mock_hass_config: None,
    emulators: Emulators,
    tmp_path: Path,
) -> None:
    """The same sequential events published on a real Mosquitto by another client."""
    binary = mosquitto_binary()
    assert binary is not None, NOT_INSTALLED
    broker = await hass.async_add_executor_job(
        MosquittoBroker.start, binary, tmp_path / "mosquitto"
    )
    spy = MqttSpy(hass.loop, broker.host, broker.port)
    mqtt_entry = mqtt_broker_entry(broker)
    try:
        mqtt_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
        assert await mqtt_component.async_wait_for_mqtt_client(hass)
        await spy.async_connect()
        entry = await set_up(hass, emulators)
        latencies = await _broker_events(hass, spy)
    finally:
        spy.stop()
        for loaded in (*hass.config_entries.async_entries("double_take"), mqtt_entry):
            if loaded.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(loaded.entry_id)
        await hass.async_block_till_done()
        await hass.async_add_executor_job(broker.stop)
    assert entry.state is ConfigEntryState.NOT_LOADED
    record("broker_p50", percentile(latencies, 0.5) * 1000, events=len(latencies))
    record("broker_p99", percentile(latencies, 0.99) * 1000, events=len(latencies))


async def _broker_events(hass: HomeAssistant, spy: MqttSpy) -> list[float]:
    """Publish events one after another; the time until the person sensor changes."""
    changed: asyncio.Future[float] | None = None
    received = asyncio.Event()

    @callback
    def state_changed(event: Event[EventStateChangedData]) -> None:
        if changed is not None and not changed.done():
            changed.set_result(time.perf_counter())

    @callback
    def probe(message: ReceiveMessage) -> None:
        received.set()

    unsubscribe_state = async_track_state_change_event(
        hass, [PERSON_SENSOR], state_changed
    )
    unsubscribe_probe = await mqtt_component.async_subscribe(hass, TOPIC, probe)
    # HA subscribes after a short debounce; until then the broker drops our messages.
    async with asyncio.timeout(RESULT_TIMEOUT):
        while not received.is_set():
            await spy.async_publish(TOPIC, "probe")
            try:
                async with asyncio.timeout(0.2):
                    await received.wait()
            except TimeoutError:
                continue
    unsubscribe_probe()
    latencies = []
    for number in range(BROKER_WARMUP + BROKER_EVENTS):
        payload = event_message("new", event_id("mq", number), camera=CAMERAS[0])
        changed = hass.loop.create_future()
        start = time.perf_counter()
        # QoS 0 like Frigate; paho writes it to the socket from this thread.
        spy.client.publish(TOPIC, payload, qos=0)
        async with asyncio.timeout(RESULT_TIMEOUT):
            end = await changed
        await hass.async_block_till_done(wait_background_tasks=True)
        if number >= BROKER_WARMUP:
            latencies.append(end - start)
    unsubscribe_state()
    return latencies


HISTORY_EVENTS = 200
HISTORY_ROWS = 100_000
HISTORY_BATCH = 5_000
HISTORY_QUERIES = 30


class LoopMeter:
    """Event-loop CPU time spent inside wrapped coroutines (their steps, not their waits)."""

    def __init__(self) -> None:
        """Start at zero."""
        self.seconds = 0.0
        self.calls = 0

    async def measure[T](self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro``, adding the CPU time of each of its steps on this thread."""
        self.calls += 1
        return await _Stepped(coro, self)


class _Stepped[T]:
    """Drives a coroutine by hand so that each ``send`` can be timed."""

    def __init__(self, coro: Coroutine[Any, Any, T], meter: LoopMeter) -> None:
        self._coro = coro
        self._meter = meter

    def __await__(self) -> Generator[Any, Any, T]:
        value: Any = None
        error: BaseException | None = None
        while True:
            start = time.thread_time()
            try:
                if error is not None:
                    step = self._coro.throw(error)
                else:
                    step = self._coro.send(value)
            except StopIteration as stop:
                self._meter.seconds += time.thread_time() - start
                return cast("T", stop.value)
            self._meter.seconds += time.thread_time() - start
            try:
                value, error = (yield step), None
            except BaseException as err:  # noqa: BLE001 (handed back to the coroutine)
                value, error = None, err


async def test_history(
    hass: HomeAssistant,
    mqtt: MqttMockPahoClient,
    emulators: Emulators,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """History: recording cost and paging a full history.

    Event-loop time per recorded event and where the write runs; then a 100,000-row
    history paged newest first, in the store and through the WebSocket API.
    """
    entry = await set_up(hass, emulators)
    data = entry.runtime_data
    recorder = data.publisher._recorder  # noqa: SLF001
    loop_meter = LoopMeter()
    write_threads: set[int] = set()
    write_seconds = 0.0
    original_record = recorder.async_record
    original_write = recorder._write  # noqa: SLF001

    def timed_record(*args: Any, **kwargs: Any) -> Coroutine[Any, Any, Any]:
        return loop_meter.measure(original_record(*args, **kwargs))

    def timed_write(*args: Any, **kwargs: Any) -> Any:
        nonlocal write_seconds
        write_threads.add(threading.get_ident())
        start = time.thread_time()
        try:
            return original_write(*args, **kwargs)
        finally:
            write_seconds += time.thread_time() - start

    recorder.async_record = timed_record
    recorder._write = timed_write  # noqa: SLF001
    results = ResultCounter(hass)
    for number in range(HISTORY_EVENTS):
        fire_mqtt_message(
            hass, event_message("new", event_id("hist", number), camera=CAMERAS[0])
        )
        await results.wait_for(number + 1)
        await hass.async_block_till_done(wait_background_tasks=True)
    results.unsubscribe()
    rows = await hass.async_add_executor_job(data.history.count)
    record(
        "history_record_loop",
        loop_meter.seconds / HISTORY_EVENTS * 1000,
        events=HISTORY_EVENTS,
        rows=rows,
        recorded=loop_meter.calls,
        executor=write_seconds / HISTORY_EVENTS * 1000,
        off_loop=bool(write_threads) and threading.get_ident() not in write_threads,
    )

    # Fill the history up to its row cap, as a year of events would.
    template = (await hass.async_add_executor_job(data.history.page)).records[0]
    filled = rows
    while filled < HISTORY_ROWS:
        count = min(HISTORY_BATCH, HISTORY_ROWS - filled)
        batch = [
            NewRecord(
                time=template.time + filled + n,
                source="frigate",
                camera=CAMERAS[(filled + n) % len(CAMERAS)],
                event_id=event_id("fill", filled + n),
                kind=("match", "miss", "unknown")[(filled + n) % 3],
                name=("alice", "bob", "unknown")[(filled + n) % 3],
                confidence=90.0,
                detector=template.detector,
                box=template.box,
                detections=template.detections,
                frame=template.frame,
                face=template.face,
            )
            for n in range(count)
        ]
        await hass.async_add_executor_job(data.history.add, batch)
        filled += count
    total = await hass.async_add_executor_job(data.history.count)

    def page_times(**query: Any) -> float:
        times = []
        for _ in range(HISTORY_QUERIES):
            start = time.perf_counter()
            data.history.page(**query)
            times.append(time.perf_counter() - start)
        return percentile(times, 0.5) * 1000

    store = {
        label: await hass.async_add_executor_job(partial(page_times, **query))
        for label, query in (
            ("newest", {}),
            ("kind", {"kind": "unknown"}),
            ("person", {"name": "bob"}),
            ("camera", {"camera": CAMERAS[3]}),
            ("deep", {"before": total // 2}),
        )
    }
    client = await hass_ws_client(hass)
    round_trips = []
    for number in range(HISTORY_QUERIES):
        start = time.perf_counter()
        await client.send_json_auto_id({"type": "double_take/results", "limit": 50})
        answer = await client.receive_json()
        round_trips.append(time.perf_counter() - start)
        assert answer["success"], answer
        assert len(answer["result"]["results"]) == 50, number
    record(
        "history_page",
        percentile(round_trips, 0.5) * 1000,
        rows=total,
        store=store,
    )
