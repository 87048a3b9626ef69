"""Runtime data of a config entry: its collaborators, side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.exceptions import ServiceValidationError

from .camera_sources import CameraSources
from .camera_switches import CameraSwitches
from .const import DOMAIN
from .frigate_connection import FrigateConnection
from .health import HealthMonitor
from .history import HistoryStore
from .index import PersonIndex
from .intake import EventIntake
from .mqtt_contract import MqttContract
from .mqtt_snapshots import SnapshotFeed
from .options import LiveSettings
from .persons import PersonRegistry
from .pipeline import DetectorHandle, Recognizer
from .publish import ResultPublisher
from .storage import MediaStore

type DoubleTakeConfigEntry = ConfigEntry[DoubleTakeData]
type Configuration = tuple[dict[str, Any], dict[str, dict[str, Any]]]


@dataclass(slots=True)
class DoubleTakeData:
    """What a loaded entry holds. Each platform and action takes the parts it needs."""

    settings: LiveSettings
    """The options, typed; replaced in place when the user changes them."""
    frigate: FrigateConnection | None
    """Frigate's client and config; None for an entry without Frigate."""
    detectors: list[DetectorHandle]
    health: HealthMonitor
    media: MediaStore
    """Image files under ``double_take/``."""
    index: PersonIndex
    """Persons and what each detector was trained on (HA ``Store``)."""
    history: HistoryStore
    """Every face of every run, for review (SQLite; use it in the executor)."""
    persons: PersonRegistry
    recognizer: Recognizer
    publisher: ResultPublisher
    mqtt_contract: MqttContract
    """The original's ``available``, ``errors`` and per-camera ``person`` topics."""
    camera_switches: CameraSwitches
    """Cameras whose recognition is switched off (Frigate's and camera sources')."""
    intake: EventIntake | None
    """Frigate events over MQTT; None without Frigate."""
    snapshots: SnapshotFeed | None
    """Frigate's person snapshots on MQTT (option ``mqtt_snapshots``); None without Frigate."""
    camera_sources: CameraSources
    """Camera subentries: their triggers and runs."""
    configured_from: Configuration
    """Entry data and subentries the entry was set up with (changes reload it)."""


def require_detectors(data: DoubleTakeData) -> None:
    """Raise the translated "no detector" error when the entry has none."""
    if not data.detectors:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_detectors"
        )


def cameras_of(data: DoubleTakeData) -> set[str]:
    """Every camera of an entry: Frigate's (as last read) and the camera sources'."""
    return {
        *(data.frigate.config.cameras if data.frigate else ()),
        *data.camera_sources.cameras,
    }


def configuration_of(entry: ConfigEntry[Any]) -> Configuration:
    """Return what a loaded entry depends on besides its options."""
    return dict(entry.data), {
        subentry_id: dict(subentry.data)
        for subentry_id, subentry in entry.subentries.items()
    }
