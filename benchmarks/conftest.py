"""Fixtures of the benchmarks: Home Assistant's test harness, emulators on their own thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import itertools
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockPahoClient

from homeassistant.components import mqtt as mqtt_component
from homeassistant.const import CONF_PROTOCOL
from homeassistant.core import HomeAssistant

from .harness import (
    ENV_EMULATORS,
    ENV_OUTPUT,
    EmulatorProcess,
    Emulators,
    EmulatorThread,
    record,
)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Run the loop as Home Assistant does, not in the test harness's debug mode.

    asyncio's debug mode records a traceback for every task and handle: several times
    the cost of what is measured.
    """
    asyncio.get_running_loop().set_debug(False)


class _ErrorCounter(logging.Handler):
    """Counts ERROR lines: a benchmark of code that logs errors measures the errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = f"{record.name}: {record.getMessage()[:300]}"


ERRORS = _ErrorCounter()


@pytest.fixture(autouse=True)
def quiet_logging() -> Iterator[None]:
    """Log as a default Home Assistant does (warnings and up); count ERROR lines."""
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    root.addHandler(ERRORS)
    yield
    root.removeHandler(ERRORS)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Report the ERROR lines of all scenarios as one more figure."""
    if ENV_OUTPUT in os.environ:
        record("errors_logged", ERRORS.count, first=ERRORS.first)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components.double_take."""


@pytest.fixture(autouse=True)
def config_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Give every benchmark its own config dir (saved images land under it)."""
    path = tmp_path / "config"
    path.mkdir()
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.config_dir = str(path)
    return path


@pytest.fixture
async def mqtt(
    hass: HomeAssistant,
    mock_hass_config: None,
    mqtt_client_mock: MqttMockPahoClient,
) -> AsyncIterator[MqttMockPahoClient]:
    """HA's MQTT integration, real but for paho, whose publish records nothing.

    The harness's ``mqtt_mock`` wraps the MQTT client in a MagicMock that records every
    message received and published: over thousands of events those records dominate
    the heap, and Python's garbage collector then pauses the loop for 100 ms and more.
    """
    entry = MockConfigEntry(
        domain=mqtt_component.DOMAIN,
        title="MQTT",
        version=1,
        minor_version=2,
        data={
            mqtt_component.CONF_BROKER: "mock-broker",
            CONF_PROTOCOL: "5",
        },
        options={mqtt_component.CONF_BIRTH_MESSAGE: {}},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    mids = itertools.count(1_000_000)

    def publish(
        topic: str,
        payload: bytes | str | None = None,
        qos: int = 0,
        retain: bool = False,
        properties: object = None,
    ) -> SimpleNamespace:
        # What paho does for a QoS 0 message: written, acknowledged at once.
        mid = next(mids)
        hass.loop.call_soon(
            mqtt_client_mock.on_publish, mqtt_client_mock, None, mid, None, None
        )
        return SimpleNamespace(mid=mid, rc=0)

    mqtt_client_mock.publish = publish
    yield mqtt_client_mock
    mock_socket = mqtt_client_mock.socket()
    mock_socket.fileno.return_value = -1
    mqtt_client_mock.on_socket_close(mqtt_client_mock, None, mock_socket)


@pytest.fixture
async def emulators(socket_enabled: None) -> AsyncIterator[Emulators]:
    """Frigate (10 cameras) and CompreFace (knows alice), in a child process or a thread."""
    servers: Emulators = (
        EmulatorThread()
        if os.environ.get(ENV_EMULATORS) == "thread"
        else EmulatorProcess()
    )
    await servers.start()
    try:
        yield servers
    finally:
        await servers.stop()
