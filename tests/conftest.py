"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from homeassistant.core import HomeAssistant

from .emulators.fixtures import *  # noqa: F403  (emulator fixtures: face_world, compreface, …)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components.double_take in every test."""


@pytest.fixture(autouse=True)
def config_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Give every Home Assistant test its own config dir.

    The harness's default config dir is shared by all tests, so files written under
    double_take/ would otherwise leak from one test into the next.
    """
    path = tmp_path / "config"
    path.mkdir()
    if "hass" in request.fixturenames:
        hass: HomeAssistant = request.getfixturevalue("hass")
        hass.config.config_dir = str(path)
    return path


@pytest.fixture
async def mqtt(mqtt_mock: MqttMockHAClient) -> AsyncIterator[MqttMockHAClient]:
    """HA's MQTT integration with a mocked broker connection, closed after the test.

    Closing the fake socket stops MQTT's timers, which the test harness would otherwise
    report as lingering.
    """
    yield mqtt_mock
    mock_socket = mqtt_mock._mqttc.socket()
    mock_socket.fileno.return_value = -1
    mqtt_mock._mqttc.on_socket_close(mqtt_mock._mqttc, None, mock_socket)
