"""Fixtures shared by all tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import importlib.util
import logging
import os
from pathlib import Path
from unittest.mock import AsyncMock, patch

import pytest
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.api.local.worker import FaceWorker, shared_worker
from homeassistant.core import HomeAssistant

from .blocking import detect_blocking_calls  # noqa: F401  (autouse: HA's blocking-call detection)
from .emulators.fixtures import *  # noqa: F403  (start_emulator, frigate, compreface, …)

# The local detector's wheels (requirements_test.txt installs them).
LOCAL_DETECTOR_MODULES = ("dlib", "face_recognition_models", "numpy")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail or skip tests marked ``dlib`` when the local detector's wheels are missing.

    In CI (``CI`` set) such a test fails, so a broken install cannot pass as skipped
    tests; elsewhere it is skipped with the reason.
    """
    if item.get_closest_marker("dlib") is None:
        return
    missing = [
        module
        for module in LOCAL_DETECTOR_MODULES
        if importlib.util.find_spec(module) is None
    ]
    if not missing:
        return
    message = (
        f"the local detector's wheels are missing ({', '.join(missing)} not"
        " importable): pip install -r requirements_test.txt"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


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


@pytest.fixture(autouse=True)
def no_integration_errors(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Fail a test when the integration logged an ERROR, or HA logged one about it.

    HA only logs exceptions raised in dispatcher callbacks and tasks, so a broken entity
    callback would otherwise go unnoticed. Tests that provoke such a line on purpose
    are marked ``allow_errors``.
    """
    yield
    if request.node.get_closest_marker("allow_errors") is not None:
        return
    errors = [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.levelno >= logging.ERROR
        and (
            record.name.startswith("custom_components.double_take")
            or "double_take" in record.getMessage()
            or "double_take" in (record.exc_text or "")
        )
    ]
    assert not errors, f"unexpected ERROR log lines: {errors}"


@pytest.fixture(scope="session")
def worker() -> Iterator[FaceWorker]:
    """Return the process-wide local-detector worker, models loaded, once per run.

    Started before the tests that use it, so that the harness does not report the process
    pool's threads as left behind by a test; stopped at the end of the run.
    """
    shared = shared_worker()
    shared.acquire()
    asyncio.run(shared.load())
    yield shared
    shared.release()
    shared.shutdown()


@pytest.fixture
def install() -> Iterator[AsyncMock]:
    """HA's requirements helper for the local detector, patched: nothing is downloaded."""
    with patch(
        "custom_components.double_take.detectors.async_process_requirements"
    ) as mock:
        yield mock
