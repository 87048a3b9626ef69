"""Entry setup, unload, retries, reauth, repairs and reloads."""

from __future__ import annotations

from pathlib import Path

from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.double_take.const import DOMAIN
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .common import (
    emulator_subentry,
    event_message,
    fire,
    make_entry,
    setup_detectors,
    setup_entry,
)
from .emulators.compreface import CompreFaceEmulator
from .emulators.frigate import FrigateEmulator
from .test_config_flow import closed_port_url


async def test_setup_creates_storage_and_unloads(
    hass: HomeAssistant,
    mqtt: MqttMockHAClient,
    frigate: FrigateEmulator,
    compreface: CompreFaceEmulator,
) -> None:
    """Setup reads Frigate's config, creates double_take/, and unloads cleanly."""
    entry = await setup_detectors(hass, compreface, frigate_url=frigate.url)
    assert entry.state is ConfigEntryState.LOADED
    for folder in ("matches", "unknown", "train", "local"):
        assert Path(hass.config.path("double_take", folder)).is_dir()
    data = entry.runtime_data
    assert data.frigate is not None
    assert data.frigate.events_topic == "frigate/events"
    assert [d.kind for d in data.detectors] == ["compreface"]
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_custom_topic_prefix(
    hass: HomeAssistant, mqtt: MqttMockHAClient, socket_enabled: None
) -> None:
    """The events topic uses Frigate's mqtt.topic_prefix."""
    async with FrigateEmulator(topic_prefix="nvr") as frigate:
        entry = await setup_entry(hass, make_entry(frigate_url=frigate.url))
        frigate_connection = entry.runtime_data.frigate
        assert frigate_connection is not None
        assert frigate_connection.events_topic == "nvr/events"
        await hass.config_entries.async_unload(entry.entry_id)


async def test_frigate_down_retries(hass: HomeAssistant, socket_enabled: None) -> None:
    """Frigate unreachable at start: the entry retries later."""
    entry = await setup_entry(hass, make_entry(frigate_url=closed_port_url()))
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_frigate_rejects_credentials_starts_reauth(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    """Frigate answering 401 at start: setup error and a reauth flow."""
    async with FrigateEmulator(username="admin", password="right") as frigate:
        entry = await setup_entry(
            hass,
            make_entry(frigate_url=frigate.url, username="admin", password="wrong"),
        )
        assert entry.state is ConfigEntryState.SETUP_ERROR
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_mqtt_missing_raises_repair_issue(
    hass: HomeAssistant, frigate: FrigateEmulator, issue_registry: ir.IssueRegistry
) -> None:
    """Without the MQTT integration the entry loads (manual use) and a repair issue says why."""
    entry = await setup_entry(hass, make_entry(frigate_url=frigate.url))
    assert entry.state is ConfigEntryState.LOADED
    issue = issue_registry.async_get_issue(DOMAIN, "mqtt_missing")
    assert issue is not None
    assert issue.translation_placeholders == {"title": "Double Take"}


async def test_subentry_change_reloads(
    hass: HomeAssistant, compreface: CompreFaceEmulator
) -> None:
    """Adding a detector reloads the entry so the new detector is used."""
    entry = await setup_entry(hass, make_entry())
    data = entry.runtime_data
    assert data.detectors == []
    assert data.intake is None  # no Frigate: nothing to subscribe to
    hass.config_entries.async_add_subentry(
        entry, ConfigSubentry(**emulator_subentry(compreface))
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not data
    assert [d.kind for d in entry.runtime_data.detectors] == ["compreface"]


async def test_frigate_credentials_rejected_while_running_start_reauth(
    hass: HomeAssistant, mqtt: MqttMockHAClient, compreface: CompreFaceEmulator
) -> None:
    """A password changed in Frigate while running: the run fails softly and reauth starts."""
    async with FrigateEmulator(username="admin", password="old") as frigate:
        entry = await setup_detectors(
            hass,
            compreface,
            frigate_url=frigate.url,
            username="admin",
            password="old",
            options={"snapshot_attempts": 1, "latest_attempts": 0},
        )
        frigate.password = "new"
        frigate.expire_tokens()
        await fire(hass, event_message())
        assert entry.state is ConfigEntryState.LOADED
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == ["reauth"]
        await hass.config_entries.async_unload(entry.entry_id)
